"""Requests/s and p50/p95/p99 latency of ``tidings serve`` under concurrent load.

Run on demand (not a test):

    python benchmarks/serve.py                        # 16 clients, 2,000 requests or 60 s
    python benchmarks/serve.py --requests 200 --seconds 10 --concurrency 4
    python benchmarks/serve.py --only api-feed --workers 2 --hot 500
    python benchmarks/serve.py --target hidden=session:/hidden   # add (or redefine) a target

It serves the store benchmarks/feed.py built (benchmarks/results/feed-bench.db: 100k
articles, 10k readers, 1M events; build it with feed.py first, this script never does) with
``python -m tidings serve --no-demo --workers W`` on a free port of 127.0.0.1, makes a
newsroom API key ("bench"; a row in api_keys per run) and loads each target in turn with
--concurrency asyncio workers sharing one httpx.AsyncClient: a warm-up (not counted), then
--requests requests or --seconds seconds, whichever ends first.

Each request is for one reader, drawn at random per request: from all readers (cold, the
default: nearly every request ranks a reader's feed afresh), or with ``--hot N`` from a
fixed set of N of them (warm: a reader comes back while the server still holds their
ranked list, so the feed only re-sorts for what it showed them since; the warm-up then
visits each of them twice per worker process first).

Targets are NAME=PATH; ``{reader}`` in PATH is replaced by the reader's name and the request
sends ``X-API-Key``; a PATH written ``session:/path`` is asked by the reader themselves,
signed in with a session cookie (sessions are opened in the store for the readers the run
may draw before the server starts, as signing in would, and closed afterwards). The
defaults are the HTML feed page (``page``: ``/`` signed in, 20 stories), ``/api/v1/feed``
(``api-feed``, 30 stories) — each call records ~20-30 impression events; feed.py deletes
them on its next run — and ``/api/v1/articles`` (``api-articles``, a cheap public route for
a baseline).

The load generator runs on the same machine as the server and competes with it for the
cores: its CPU time is reported next to the server's (the server's is that of all its
processes). Writes benchmarks/results/serve.json (and serve-server.log, the server's
output, where each process says on shutdown how many feeds it ranked afresh, re-sorted for
what was shown since, or reused as they were) and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import measure  # benchmarks/measure.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TARGETS = {  # name -> path; "{reader}" is the reader's name; "session:": signed in as them
    "page": "session:/",
    "api-feed": "/api/v1/feed?reader={reader}&limit=30",
    "api-articles": "/api/v1/articles?limit=30",
}
SESSION = "session:"
SESSION_COOKIE = "tidings_session"
GOAL_P99_MS = {"api-feed": 50.0}


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


def _sessions(url: str, names: list[str]) -> dict[str, str]:
    """A signed-in session per reader (name → token), opened in the store as signing in
    does, without the password hashing: the readers feed.py made have no passwords."""
    from tidings.library import Tidings
    from tidings.store import accounts
    from tidings.store import readers as reader_store

    now = datetime.now(UTC)
    tokens = {}
    with Tidings(url) as tidings, tidings.engine.begin() as connection:
        for name in names:
            reader = reader_store.get(connection, name)
            tokens[name] = accounts.open_session(connection, reader, now=now).token
    return tokens


def _close_sessions(url: str, tokens: dict[str, str]) -> None:
    from tidings.library import Tidings
    from tidings.store import accounts

    with Tidings(url) as tidings, tidings.engine.begin() as connection:
        for token in tokens.values():
            accounts.close_session(connection, token)


def _feeds_made(log: Path) -> list[str]:
    """What each server process said on shutdown about how it made feeds."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line.strip() for line in text.splitlines() if line.startswith("tidings feeds")]


def _start(db: Path, port: int, log: Path, workers: int) -> tuple[subprocess.Popen[bytes], float]:
    """``tidings serve`` on 127.0.0.1:``port``; the process and its seconds to first answer
    (until /readyz: its feed caches are warm)."""
    import httpx

    command = [sys.executable, "-m", "tidings", "serve", "--no-demo", "--no-poll"]
    command += ["--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", f"sqlite:///{db}", "--workers", str(workers)]
    started = time.perf_counter()
    server = subprocess.Popen(
        command, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < 120:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see {log}")
        try:
            # /readyz: the server accepts at once but warms its pool and scorer first
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return server, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    measure.stop_server(server)
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


# -- the load -----------------------------------------------------------------------------


class _Requests:
    """The request for a target and a reader: its path and headers."""

    def __init__(self, path: str, key: str, sessions: dict[str, str]) -> None:
        self.signed_in = path.startswith(SESSION)
        self.path = path.removeprefix(SESSION)
        self.key = key
        self.sessions = sessions

    def __call__(self, reader: str) -> tuple[str, dict[str, str]]:
        from urllib.parse import quote

        path = self.path.format(reader=quote(reader))
        if self.signed_in:
            return path, {"Cookie": f"{SESSION_COOKIE}={self.sessions[reader]}"}
        return path, {"X-API-Key": self.key}


async def _one(client: Any, path: str, headers: dict[str, str]) -> tuple[float, int]:
    """One request: its milliseconds (the whole body read) and status (0: no answer)."""
    import httpx

    t0 = time.perf_counter()
    try:
        response = await client.get(path, headers=headers)
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    return (time.perf_counter() - t0) * 1000, status


async def _run(
    base: str,
    requests: _Requests,
    readers: list[str],
    args: argparse.Namespace,
    rng: random.Random,
    count: int,
    seconds: float,
) -> dict[str, Any]:
    """``count`` requests or ``seconds`` seconds of a target from --concurrency workers."""
    import httpx

    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    ms: list[float] = []
    statuses: dict[int, int] = {}
    issued = 0
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=args.timeout) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal issued
            while issued < count and time.perf_counter() < deadline:
                issued += 1
                took, status = await _one(client, *requests(rng.choice(readers)))
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
    requests: _Requests,
    readers: list[str],
    args: argparse.Namespace,
    server: subprocess.Popen[bytes],
) -> dict[str, Any]:
    import httpx

    rng = random.Random(f"{args.seed}:{name}")
    t0 = time.perf_counter()
    probe_path, headers = requests(rng.choice(readers))
    probe = httpx.get(base + probe_path, headers=headers, timeout=args.timeout)
    first_ms = round((time.perf_counter() - t0) * 1000, 1)
    if probe.status_code == 404:  # no such route yet (the probe names a real reader)
        print(f"{name}: {path} answers 404, skipped")
        return {"path": path, "skipped": f"404: {probe.text[:200]}"}
    if probe.status_code != 200:
        print(f"{name}: {path} answers {probe.status_code}: {probe.text[:200]}")
    load_before = _load()
    # Warm: every hot reader twice per worker process, so most have a ranked list there.
    warmup = max(args.warmup, 2 * args.hot * args.workers) if args.hot else args.warmup
    print(f"{name}: warm-up ({warmup} requests)")
    warm = asyncio.run(_run(base, requests, readers, args, rng, warmup, 10 * args.seconds))
    server_cpu, client_cpu = measure.process_cpu(server.pid), _self_cpu()
    print(f"{name}: {args.requests} requests or {args.seconds} s, {args.concurrency} clients")
    result = asyncio.run(_run(base, requests, readers, args, rng, args.requests, args.seconds))
    server_cpu = measure.process_cpu(server.pid) - server_cpu
    client_cpu = _self_cpu() - client_cpu
    wall = result["wall_seconds"] or 1.0
    result.update(
        path=path,
        probe={"status": probe.status_code, "ms": first_ms},
        warmup={k: warm.get(k) for k in ("requests", "errors", "p50_ms", "p99_ms", "max_ms")},
        server_cpu_seconds=round(server_cpu, 1),
        server_cpu_cores=round(server_cpu / wall, 2),
        client_cpu_seconds=round(client_cpu, 1),
        client_cpu_cores=round(client_cpu / wall, 2),
        client_cpu_ms_per_request=round(client_cpu * 1000 / max(1, result["requests"]), 2),
        server_cpu_ms_per_request=round(server_cpu * 1000 / max(1, result["requests"]), 1),
        load_before=load_before,
        load_after=_load(),
        server_rss_mb=measure.process_memory(server.pid),
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
        f"store: {results['db']} ({results['readers']:,} readers); {results['mode']}; "
        f"{results['workers']} server worker process(es), up in "
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
    rss = results["server_rss_mb"]
    console.print(
        f"server peak RSS {rss.get('VmHWM')} MB over {rss.get('processes')} processes (the "
        f"largest {rss.get('VmHWM_max')} MB); events "
        f"{results['events_before']:,} -> {results['events_after']:,} "
        f"(+{results['events_after'] - results['events_before']:,}: feed impressions; "
        "feed.py deletes them on its next run)"
    )
    for line in results["feeds_made"]:
        console.print(line, markup=False)
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
        help="add or redefine a target ({reader}: the reader's name; PATH 'session:/…': "
        "asked signed in as the reader)",
    )
    parser.add_argument(
        "--hot",
        type=int,
        default=0,
        metavar="N",
        help="warm mode: draw readers from a fixed set of N (default 0: from all, cold)",
    )
    parser.add_argument("--workers", type=int, default=1, help="tidings serve --workers")
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
        if not sep or not path.removeprefix(SESSION).startswith("/"):
            raise SystemExit(f"--target wants NAME=/path or NAME=session:/path, not {spec!r}")
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
        "workers": args.workers,
        "mode": f"warm: {args.hot} hot readers" if args.hot else "cold: any reader",
        "uptime_start": _uptime(),
        "busy_start": _busy(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": "the load generator shares the machine's cores with the server",
    }
    print(results["uptime_start"])
    with Tidings(url) as tidings:
        readers = [r.name for r in tidings.readers(limit=10_000)]
    results["readers"] = len(readers)
    if args.hot:
        readers = random.Random(f"{args.seed}:hot").sample(readers, min(args.hot, len(readers)))
    results["events_before"] = _events(url)
    signed_in = any(path.startswith(SESSION) for path in targets.values())
    sessions = _sessions(url, readers) if signed_in else {}
    port = args.port or measure.free_port()
    base = f"http://127.0.0.1:{port}"
    log = RESULTS / "serve-server.log"
    print(f"starting tidings serve on {base} with {args.workers} worker(s) (log: {log})")
    try:
        server, up = _start(args.db, port, log, args.workers)
        results["server_start_seconds"] = round(up, 1)
        results["targets"] = {}
        try:
            with Tidings(url) as tidings:
                key = tidings.add_api_key("bench")
            for name, path in targets.items():
                requests = _Requests(path, key, sessions)
                results["targets"][name] = _target(
                    name, path, base, requests, readers, args, server
                )
            results["server_rss_mb"] = measure.process_memory(server.pid)
            results["server_cpu_seconds"] = round(measure.process_cpu(server.pid), 1)
        finally:
            measure.stop_server(server)
    finally:
        _close_sessions(url, sessions)
    results["feeds_made"] = _feeds_made(log)
    results["events_after"] = _events(url)
    results["uptime_end"] = _uptime()
    args.out.write_text(json.dumps(results, indent=2, default=str))
    _summary(results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
