"""Requests/s and p50/p95/p99 latency of ``tidings serve`` under concurrent load.

Run on demand (not a test):

    python benchmarks/serve.py                        # 16 clients, 2,000 requests or 60 s
    python benchmarks/serve.py --requests 200 --seconds 10 --concurrency 4
    python benchmarks/serve.py --target page=/feed    # add (or redefine) a target

It serves the store benchmarks/feed.py built (benchmarks/results/feed-bench.db: 100k
articles, 10k readers, 1M events; build it with feed.py first, this script never does) with
``python -m tidings serve --no-demo`` on a free port of 127.0.0.1, makes a newsroom API key
("bench"; a row in api_keys per run) and loads each target in turn with --concurrency
asyncio workers sharing one httpx.AsyncClient: a warm-up (not counted: the first feed call
builds the story pool), then --requests requests or --seconds seconds, whichever ends first.

Targets are NAME=PATH; ``{reader}`` in PATH is replaced by a random reader's name per request
and every request sends ``X-API-Key``. The defaults are the HTML feed page (``page``, skipped
while the app answers 404 for it), ``/api/v1/feed`` for a random reader (``api-feed``: each
call records ~30 impression events; feed.py deletes them on its next run) and
``/api/v1/articles`` (``api-articles``, a cheap public route for a baseline).

The load generator runs on the same machine as the server and competes with it for the
cores: its CPU time is reported next to the server's. Writes benchmarks/results/serve.json
(and serve-server.log, the server's output) and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import measure  # benchmarks/measure.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TARGETS = {  # name -> path; "{reader}" is a random reader's name
    "page": "/feed?reader={reader}",
    "api-feed": "/api/v1/feed?reader={reader}&limit=30",
    "api-articles": "/api/v1/articles?limit=30",
}
GOAL_P99_MS = {"api-feed": 50.0}
TICK = os.sysconf("SC_CLK_TCK")


# -- helpers ------------------------------------------------------------------------------


_load = measure.load
_uptime = measure.uptime


def _busy() -> list[str]:
    """Other processes using CPU now (they share the cores with the server and the client)."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,etime,args", "--sort=-pcpu"], capture_output=True, text=True
        ).stdout.splitlines()[1:]
    except OSError:
        return []
    mine = {os.getpid()}
    busy = []
    for line in out:
        parts = line.split(None, 3)
        if len(parts) == 4 and int(parts[0]) not in mine and float(parts[1]) >= 10:
            busy.append(f"{parts[0]} {parts[1]}% {parts[3][:80]}")
    return busy[:5]


_stats = measure.stats


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _events(url: str) -> int:
    from sqlalchemy import func, select

    from tidings.library import Tidings
    from tidings.store.schema import events

    with Tidings(url) as tidings, tidings.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(events)).scalar() or 0


# -- the server ---------------------------------------------------------------------------


def _start(db: Path, port: int, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    """``tidings serve`` on 127.0.0.1:``port``; the process and its seconds to first answer."""
    import httpx

    command = [sys.executable, "-m", "tidings", "serve", "--no-demo", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", f"sqlite:///{db}"]
    started = time.perf_counter()
    server = subprocess.Popen(
        command, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < 120:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see {log}")
        try:
            if httpx.get(f"{base}/api/v1/articles?limit=1", timeout=5).status_code == 200:
                return server, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    _stop(server)
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- the load -----------------------------------------------------------------------------


async def _one(client: Any, path: str) -> tuple[float, int]:
    """One request: its milliseconds (the whole body read) and status (0: no answer)."""
    import httpx

    t0 = time.perf_counter()
    try:
        response = await client.get(path)
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    return (time.perf_counter() - t0) * 1000, status


async def _run(
    base: str,
    key: str,
    path: str,
    readers: list[str],
    args: argparse.Namespace,
    rng: random.Random,
    count: int,
    seconds: float,
) -> dict[str, Any]:
    """``count`` requests or ``seconds`` seconds of ``path`` from --concurrency workers."""
    import httpx

    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    ms: list[float] = []
    statuses: dict[int, int] = {}
    issued = 0
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": key}, limits=limits, timeout=args.timeout
    ) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal issued
            while issued < count and time.perf_counter() < deadline:
                issued += 1
                took, status = await _one(client, path.format(reader=rng.choice(readers)))
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    ms.append(took)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        wall = time.perf_counter() - t0
    errors = sum(n for status, n in statuses.items() if status != 200)
    return {
        "requests": issued,
        "ok": len(ms),
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "wall_seconds": round(wall, 2),
        "requests_per_s": round(issued / wall, 1) if wall else None,
        "ok_per_s": round(len(ms) / wall, 1) if wall else None,
        "bounded_by": "requests" if issued >= count else "seconds",
        **_stats(ms),
    }


def _target(
    name: str,
    path: str,
    base: str,
    key: str,
    readers: list[str],
    args: argparse.Namespace,
    server: subprocess.Popen[bytes],
) -> dict[str, Any]:
    import httpx

    rng = random.Random(f"{args.seed}:{name}")
    probe_path = path.format(reader=rng.choice(readers))
    t0 = time.perf_counter()
    probe = httpx.get(base + probe_path, headers={"X-API-Key": key}, timeout=args.timeout)
    first_ms = round((time.perf_counter() - t0) * 1000, 1)
    if probe.status_code == 404:  # no such route yet (the probe names a real reader)
        print(f"{name}: {path} answers 404, skipped")
        return {"path": path, "skipped": f"404: {probe.text[:200]}"}
    if probe.status_code != 200:
        print(f"{name}: {path} answers {probe.status_code}: {probe.text[:200]}")
    load_before = _load()
    print(f"{name}: warm-up ({args.warmup} requests)")
    warm = asyncio.run(_run(base, key, path, readers, args, rng, args.warmup, args.seconds))
    server_cpu, client_cpu = _proc_cpu(server.pid), _self_cpu()
    print(f"{name}: {args.requests} requests or {args.seconds} s, {args.concurrency} clients")
    result = asyncio.run(_run(base, key, path, readers, args, rng, args.requests, args.seconds))
    server_cpu = _proc_cpu(server.pid) - server_cpu
    client_cpu = _self_cpu() - client_cpu
    wall = result["wall_seconds"] or 1.0
    result.update(
        path=path,
        probe={"status": probe.status_code, "ms": first_ms},
        warmup={k: warm.get(k) for k in ("requests", "errors", "p50_ms", "max_ms")},
        server_cpu_seconds=round(server_cpu, 1),
        server_cpu_cores=round(server_cpu / wall, 2),
        client_cpu_seconds=round(client_cpu, 1),
        client_cpu_cores=round(client_cpu / wall, 2),
        client_cpu_ms_per_request=round(client_cpu * 1000 / max(1, result["requests"]), 2),
        server_cpu_ms_per_request=round(server_cpu * 1000 / max(1, result["requests"]), 1),
        load_before=load_before,
        load_after=_load(),
        server_rss_mb=_proc_status(server.pid),
    )
    if name in GOAL_P99_MS and result.get("p99_ms") is not None:
        result["goal_p99_ms"] = GOAL_P99_MS[name]
        result["meets_goal"] = result["p99_ms"] <= GOAL_P99_MS[name]
    shown = ("requests", "errors", "requests_per_s", "p50_ms", "p99_ms")
    print(f"{name}: {json.dumps({k: result.get(k) for k in shown})}")
    return result


# -- driver -------------------------------------------------------------------------------


def _summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    console.print(
        f"store: {results['db']} ({results['readers']:,} readers); server up in "
        f"{results['server_start_seconds']} s; {results['cores']} cores shared by the server, "
        f"the load generator (one Python process, httpx) and anything else running"
    )
    console.print(f"before: {results['uptime_start']}", markup=False)
    for line in results["busy_start"]:
        console.print(f"  busy: {line}", markup=False)
    table = Table(title=f"{results['concurrency']} concurrent clients on 127.0.0.1, ms")
    columns = ("target", "requests", "errors", "req/s", "p50", "p95", "p99", "max")
    columns += ("server cpu", "client cpu", "goal")
    for name in columns:
        table.add_column(name, justify="left" if name in ("target", "goal") else "right")
    for name, r in results["targets"].items():
        if r.get("skipped"):
            table.add_row(name, "skipped", "", "", "", "", "", "", "", "", r["skipped"][:3])
            continue
        goal = ""
        if "goal_p99_ms" in r:
            goal = f"p99 ≤ {r['goal_p99_ms']:.0f}: " + ("met" if r["meets_goal"] else "MISSED")
        table.add_row(
            name,
            f"{r['requests']:,}",
            str(r["errors"]),
            f"{r['requests_per_s']:.1f}",
            *(f"{r.get(k, float('nan')):.1f}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            f"{r['server_cpu_cores']:.2f} cores",
            f"{r['client_cpu_cores']:.2f} cores",
            goal,
        )
    console.print(table)
    for name, r in results["targets"].items():
        if not r.get("skipped"):
            console.print(
                f"{name}: {r['path']}; bounded by {r['bounded_by']}; first call "
                f"{r['probe']['ms']:.0f} ms; statuses {r['statuses']}; server "
                f"{r['server_cpu_ms_per_request']} ms CPU/request, client "
                f"{r['client_cpu_ms_per_request']} ms; load {r['load_before']} -> "
                f"{r['load_after']}",
                markup=False,
            )
    console.print(
        f"server peak RSS {results['server_rss_mb'].get('VmHWM')} MB; events "
        f"{results['events_before']:,} -> {results['events_after']:,} "
        f"(+{results['events_after'] - results['events_before']:,}: feed impressions; "
        "feed.py deletes them on its next run)"
    )
    console.print(f"after: {results['uptime_end']}", markup=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, default=RESULTS / "feed-bench.db")
    parser.add_argument("--requests", type=int, default=2000, help="per target")
    parser.add_argument("--seconds", type=float, default=60, help="time bound per target")
    parser.add_argument("--warmup", type=int, default=50, help="uncounted requests per target")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="add or redefine a target ({reader}: a random reader's name)",
    )
    parser.add_argument(
        "--only", help=f"comma-separated target names to run (default: all of {','.join(TARGETS)})"
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "serve.json")
    args = parser.parse_args()
    args.db = args.db.resolve()
    if not args.db.exists():
        raise SystemExit(f"no store at {args.db}: build it with benchmarks/feed.py first")
    targets = dict(TARGETS)
    for spec in args.target:
        name, sep, path = spec.partition("=")
        if not sep or not path.startswith("/"):
            raise SystemExit(f"--target wants NAME=/path, not {spec!r}")
        targets[name] = path
    if args.only:
        targets = {k: v for k, v in targets.items() if k in args.only.split(",")}

    from tidings.library import Tidings

    RESULTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{args.db}"
    results: dict[str, Any] = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "db": str(args.db),
        "cores": os.cpu_count(),
        "concurrency": args.concurrency,
        "uptime_start": _uptime(),
        "busy_start": _busy(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": "the load generator shares the machine's cores with the server",
    }
    print(results["uptime_start"])
    with Tidings(url) as tidings:
        readers = [r.name for r in tidings.readers(limit=10_000)]
    results["readers"] = len(readers)
    results["events_before"] = _events(url)
    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    log = RESULTS / "serve-server.log"
    print(f"starting tidings serve on {base} (log: {log})")
    server, up = _start(args.db, port, log)
    results["server_start_seconds"] = round(up, 1)
    results["targets"] = {}
    try:
        with Tidings(url) as tidings:
            key = tidings.add_api_key("bench")
        for name, path in targets.items():
            results["targets"][name] = _target(name, path, base, key, readers, args, server)
        results["server_rss_mb"] = _proc_status(server.pid)
        results["server_cpu_seconds"] = round(_proc_cpu(server.pid), 1)
    finally:
        _stop(server)
    results["events_after"] = _events(url)
    results["uptime_end"] = _uptime()
    args.out.write_text(json.dumps(results, indent=2, default=str))
    _summary(results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
