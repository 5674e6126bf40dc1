"""Shared by the benchmarks: latency percentiles, and how busy the machine is."""

from __future__ import annotations

import os
import subprocess

import numpy as np


def stats(ms: list[float]) -> dict[str, float]:
    """n, p50/p95/p99, max and mean of timings in milliseconds (rounded to 0.1 ms)."""
    if not ms:
        return {"n": 0}
    a = np.asarray(ms)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {
        "n": len(ms),
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
        "max_ms": round(float(a.max()), 1),
        "mean_ms": round(float(a.mean()), 1),
    }


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def uptime() -> str:
    """`uptime`'s line (the load beside every figure: the machine may be shared)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average: {load()}"
