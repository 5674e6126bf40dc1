"""Shared by the benchmarks: latency percentiles, and how busy the machine is."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

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


# -- a server's processes (serve.py, abuse.py) -------------------------------------------


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn's worker processes are its children)."""
    from pathlib import Path

    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def process_memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process and its descendants, in MB: their sums, and the
    largest peak of one process."""
    from pathlib import Path

    out = {"VmRSS": 0.0, "VmHWM": 0.0, "VmHWM_max": 0.0, "processes": 0}
    for one in process_tree(pid):
        try:
            lines = Path(f"/proc/{one}/status").read_text().splitlines()
        except OSError:
            continue
        out["processes"] += 1
        for line in lines:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                mb = int(value.split()[0]) / 1024
                out[key] = round(out[key] + mb, 1)
                if key == "VmHWM":
                    out["VmHWM_max"] = round(max(out["VmHWM_max"], mb), 1)
    return out


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (threads included)."""
    from pathlib import Path

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for one in process_tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop a server started in a session of its own (``start_new_session=True``): SIGTERM,
    then after 30 s SIGKILL to the whole session, its worker processes too."""
    import subprocess

    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


# -- a cheap load generator (serve.py) ----------------------------------------------------


class Http1:
    """One keep-alive HTTP/1.1 connection to a server of this machine, for load generators.

    httpx spends ~3 ms of client CPU receiving a 64 KB response: one client process then
    tops out near 300 req/s, below what a trivial FastAPI endpoint serves, and a ceiling
    measured with it would be the client's. This reads the status line, the headers and
    exactly Content-Length bytes (or the chunks), and parses nothing else."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._reader: Any = None
        self._writer: Any = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """GET ``path``: the status and the body (status 0: no answer, the connection is
        dropped and the next request opens another)."""
        import asyncio

        try:
            return await asyncio.wait_for(self._get(path, headers), self.timeout)
        except (TimeoutError, OSError, EOFError, ValueError, asyncio.LimitOverrunError):
            self.close()
            return 0, b""

    async def _get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        import asyncio

        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip().lower()
        if status in (204, 304):  # no body, whatever the headers say
            body = b""
        elif b"content-length" in fields:
            body = await self._reader.readexactly(int(fields[b"content-length"]))
        elif fields.get(b"transfer-encoding") == b"chunked":
            parts = []
            while size := int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append((await self._reader.readexactly(size + 2))[:-2])
            while await self._reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            body = b"".join(parts)
        else:  # the body runs to the end of the connection
            body = await self._reader.read()
            fields[b"connection"] = b"close"
        if fields.get(b"connection") == b"close":
            self.close()
        return status, body

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def database_url(db: str) -> str:
    """``--db`` as a database URL: a URL as it is, a path as a SQLite URL (it must exist:
    the benchmarks never build the store; benchmarks/feed.py does)."""
    if "://" in db:
        return db
    path = Path(db).expanduser().resolve()
    if not path.exists():
        raise SystemExit(f"no store at {path}: build it with benchmarks/feed.py first")
    return f"sqlite:///{path}"
