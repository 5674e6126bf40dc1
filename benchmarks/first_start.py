"""How long a newcomer waits: ``tidings serve`` on an empty store until the feed answers.

Run on demand (not a test):

    python benchmarks/first_start.py            # 3 runs each, SQLite in a scratch folder
    python benchmarks/first_start.py --runs 1 --keep-log

Each run starts ``python -m tidings serve --no-poll`` on a new, empty SQLite file and a free
port of 127.0.0.1 and times until ``GET /`` and ``GET /api/v1/stories?min_articles=2``
both answer 200 with stories told by several outlets: loading the demo pack (articles, then
what the pack understood), the app's start and its first feed. The reference, measured in
the same run on the same machine, is the same command with ``--no-demo`` (an empty server
answering): the figure that matters is the difference and the ratio, since these machines are
shared and absolute times move by ±30%. Writes benchmarks/results/first_start.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LIMIT = 600.0  # seconds before a run counts as failed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_run(*, demo: bool, log: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        command = [sys.executable, "-m", "tidings", "serve", "--no-poll", "--port", str(port)]
        command += ["--db", f"sqlite:///{folder}/first.db"]
        if not demo:
            command.append("--no-demo")
        started = time.perf_counter()
        with log.open("a") as out:
            server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
        try:
            base = f"http://127.0.0.1:{port}"
            while time.perf_counter() - started < LIMIT:
                if server.poll() is not None:
                    raise SystemExit(f"the server stopped (exit {server.returncode}); see {log}")
                try:
                    page = httpx.get(base + "/", timeout=5, follow_redirects=True)
                    stories = httpx.get(base + "/api/v1/stories?min_articles=2", timeout=5)
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                if page.status_code == 200 and stories.status_code == 200:
                    seconds = time.perf_counter() - started
                    found = stories.json()
                    items = found["items"]
                    outlets = max((s.get("outlets", 0) for s in items), default=0)
                    return {"seconds": round(seconds, 2), "multi_outlet_stories": len(items),
                            "most_outlets": outlets}  # fmt: skip
                time.sleep(0.2)
            raise SystemExit(f"no answer within {LIMIT:.0f} s; see {log}")
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-log", action="store_true", help="keep the servers' output")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / "first_start-server.log"
    log.write_text("")
    runs: dict[str, list[dict[str, Any]]] = {"reference (no demo)": [], "first start": []}
    for _ in range(args.runs):  # interleaved, so a noisy minute hits both alike
        runs["reference (no demo)"].append(one_run(demo=False, log=log))
        runs["first start"].append(one_run(demo=True, log=log))
    medians = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    reference, first = medians["reference (no demo)"], medians["first start"]
    result = {
        "runs": runs,
        "median_seconds": medians,
        "demo_adds_seconds": round(first - reference, 2),
        "ratio_to_reference": round(first / reference, 2),
    }
    (RESULTS / "first_start.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep_log:
        log.unlink()
    for name, seconds in medians.items():
        print(f"{name:>20}: {seconds:6.1f} s (median of {args.runs})")
    last = runs["first start"][-1]
    print(
        f"the demo adds {first - reference:.1f} s ({first / reference:.1f}× the empty server); "
        f"{last['multi_outlet_stories']} multi-outlet stories on the first page asked, "
        f"up to {last['most_outlets']} outlets"
    )


if __name__ == "__main__":
    main()
