"""Requests/s and p50/p95/p99 latency of ``tidings serve`` under concurrent load.

Run on demand (not a test):

    python benchmarks/serve.py                        # 16 clients, 2,000 requests or 60 s
    python benchmarks/serve.py --requests 200 --seconds 10 --concurrency 4
    python benchmarks/serve.py --only api-feed --workers 2 --hot 500
    python benchmarks/serve.py --target hidden=session:/hidden   # add (or redefine) a target
    python benchmarks/serve.py --db postgresql+psycopg://postgres@127.0.0.1/tidings_bench
    python benchmarks/serve.py --matrix               # api-feed vs ceiling, 8 set-ups, ~10 min

It serves the store benchmarks/feed.py built (benchmarks/results/feed-bench.db: 100k
articles, 10k readers, 1M events; build it with feed.py first, this script never does) with
``python -m tidings serve --no-demo --workers W`` on a free port of 127.0.0.1, makes a
newsroom API key ("bench"; a row in api_keys per run) and loads each target in turn with
--concurrency asyncio workers, each on a keep-alive connection of its own (measure.Http1: it
reads a 64 KB answer for a tenth of the client CPU httpx takes, so one client process can
load even the ceiling; ``--client httpx`` shares one httpx.AsyncClient as before): a warm-up
(not counted), then --requests requests or --seconds seconds, whichever ends first.
``--db`` takes a SQLite path or a database URL (``postgresql+psycopg://…``: a copy made by
benchmarks/to_postgres.py).

The ceiling: after the tidings targets, the same run stops tidings and starts
benchmarks/ceiling_app.py (FastAPI + uvicorn, as many worker processes, another free port)
answering every request with the bytes of one real ``/api/v1/feed?limit=30`` response
captured from tidings in this run, and loads it with the same clients, requests and
seconds as target ``ceiling``. Each tidings target is reported with its ``ratio to
ceiling`` (its req/s ÷ the ceiling's): a figure that holds on a noisy, shared machine.
Goals for api-feed: p99 ≤ 50 ms and a ratio ≥ 0.3.

``--matrix`` runs api-feed and the ceiling for {warm 500, cold} × {1, 2 workers} ×
{SQLite, PostgreSQL (when the copy at --pg-url exists)}, shorter by default (1,000 requests
or 20 s each, warm-up at most 30 s), and prints one table.

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
them on its next run, and this script deletes the events a run added once the server has
stopped unless --keep-events, so every run and matrix cell starts from the same store — and
``/api/v1/articles`` (``api-articles``, a cheap public route for a baseline).

The load generator runs on the same machine as the server and competes with it for the
cores: its CPU time is reported next to the server's (the server's is that of all its
processes). Writes benchmarks/results/serve.json (serve-matrix.json with --matrix; and
serve-server.log, the server's output, where each process says on shutdown how many feeds
it ranked afresh, re-sorted for what was shown since, or reused as they were) and prints a
summary.
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
GOAL_RATIO = {"api-feed": 0.3}  # of the ceiling's req/s
CEILING = "ceiling"
CEILING_TARGET = "api-feed"  # whose response body the ceiling serves
CEILING_PATH = TARGETS[CEILING_TARGET]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tidings_bench"  # to_postgres.py's
MATRIX_REQUESTS, MATRIX_SECONDS, MATRIX_WARMUP_SECONDS = 1000, 20.0, 30.0


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


def _shown(url: str) -> str:
    """A URL fit to print (no password)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _backend(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name()


def _has_store(url: str) -> bool:
    """Whether ``url`` reaches a database with articles in it (without creating one)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT 1 FROM articles LIMIT 1")).first())
    except Exception:  # no server, no database or no table: no copy to benchmark
        return False
    finally:
        engine.dispose()


def _events(url: str) -> tuple[int, int]:
    """How many events the store holds, and the largest id."""
    from sqlalchemy import func, select

    from tidings.library import Tidings
    from tidings.store.schema import events

    with Tidings(url) as tidings, tidings.engine.connect() as connection:
        count, last = connection.execute(select(func.count(), func.max(events.c.id))).one()
        return count or 0, last or 0


def _delete_events_after(url: str, last: int) -> int:
    """Delete the events after id ``last`` (the impressions a run recorded); how many."""
    from sqlalchemy import delete

    from tidings.library import Tidings
    from tidings.store.schema import events

    with Tidings(url) as tidings, tidings.engine.begin() as connection:
        return connection.execute(delete(events).where(events.c.id > last)).rowcount


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


def _wait_ready(
    command: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server in a session of its own; the process and its seconds until /readyz
    answers 200 on 127.0.0.1:``port``."""
    import httpx

    started = time.perf_counter()
    server = subprocess.Popen(
        command,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < 120:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see {log}")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return server, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    measure.stop_server(server)
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


def _start(url: str, port: int, log: Path, workers: int) -> tuple[subprocess.Popen[bytes], float]:
    """``tidings serve`` on 127.0.0.1:``port``; the process and its seconds to first answer
    (until /readyz: the server accepts at once but warms its pool and scorer first)."""
    command = [sys.executable, "-m", "tidings", "serve", "--no-demo", "--no-poll"]
    command += ["--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", url, "--workers", str(workers)]
    return _wait_ready(command, port, log)


def _start_ceiling(
    body: Path, port: int, log: Path, workers: int
) -> tuple[subprocess.Popen[bytes], float]:
    """benchmarks/ceiling_app.py serving ``body`` on 127.0.0.1:``port``."""
    command = [sys.executable, str(Path(__file__).with_name("ceiling_app.py"))]
    command += ["--body", str(body), "--port", str(port), "--workers", str(workers)]
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")  # as tidings serve sets them
    return _wait_ready(command, port, log, env)


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
    if isinstance(client, measure.Http1):
        status, _ = await client.get(path, headers)
    else:
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
    order: list[str] | None = None,
) -> dict[str, Any]:
    """``count`` requests or ``seconds`` seconds of a target from --concurrency workers, each
    with a keep-alive connection of its own (--client raw) or sharing one httpx client.
    Readers are drawn at random, or taken from ``order`` in turn (a warm-up that visits
    every hot reader: random draws would leave some never visited, and rank them during
    the measurement)."""
    from urllib.parse import urlsplit

    import httpx

    ms: list[float] = []
    statuses: dict[int, int] = {}
    issued = 0

    async def worker(client: Any) -> None:
        nonlocal issued
        while issued < count and time.perf_counter() < deadline:
            reader = order[issued % len(order)] if order else rng.choice(readers)
            issued += 1
            took, status = await _one(client, *requests(reader))
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                ms.append(took)

    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()
    if args.client == "raw":
        where = urlsplit(base)
        host, port = where.hostname or "127.0.0.1", where.port or 80
        clients = [measure.Http1(host, port, args.timeout) for _ in range(args.concurrency)]
        try:
            await asyncio.gather(*(worker(client) for client in clients))
        finally:
            for client in clients:
                client.close()
    else:
        limits = httpx.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        )
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=args.timeout) as one:
            await asyncio.gather(*(worker(one) for _ in range(args.concurrency)))
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
    warmup: int | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Load one target; its figures, and the body of its first (probe) response."""
    import httpx

    rng = random.Random(f"{args.seed}:{name}")
    t0 = time.perf_counter()
    probe_path, headers = requests(rng.choice(readers))
    probe = httpx.get(base + probe_path, headers=headers, timeout=args.timeout)
    first_ms = round((time.perf_counter() - t0) * 1000, 1)
    if probe.status_code == 404:  # no such route yet (the probe names a real reader)
        print(f"{name}: {path} answers 404, skipped")
        return {"path": path, "skipped": f"404: {probe.text[:200]}"}, b""
    if probe.status_code != 200:
        print(f"{name}: {path} answers {probe.status_code}: {probe.text[:200]}")
    load_before = _load()
    if warmup is None:
        # Warm: every hot reader twice per worker process, so most have a ranked list there.
        warmup = max(args.warmup, 2 * args.hot * args.workers) if args.hot else args.warmup
    warmup_seconds = args.warmup_seconds or 10 * args.seconds
    print(f"{name}: warm-up ({warmup} requests or {warmup_seconds:.0f} s)")
    # Warm: every hot reader in turn, 2 × workers passes (each pass shuffled).
    order = [r for _ in range(2 * args.workers) for r in rng.sample(readers, len(readers))]
    warm = asyncio.run(
        _run(
            base,
            requests,
            readers,
            args,
            rng,
            warmup,
            warmup_seconds,
            order if args.hot else None,
        )
    )
    server_cpu, client_cpu = measure.process_cpu(server.pid), _self_cpu()
    print(f"{name}: {args.requests} requests or {args.seconds} s, {args.concurrency} clients")
    result = asyncio.run(_run(base, requests, readers, args, rng, args.requests, args.seconds))
    server_cpu = measure.process_cpu(server.pid) - server_cpu
    client_cpu = _self_cpu() - client_cpu
    wall = result["wall_seconds"] or 1.0
    result.update(
        path=path,
        probe={"status": probe.status_code, "ms": first_ms},
        warmup={
            "wanted": warmup,
            **{k: warm.get(k) for k in ("requests", "errors", "p50_ms", "p99_ms", "max_ms")},
        },
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
    return result, probe.content if probe.status_code == 200 else b""


def _ratios(targets: dict[str, dict[str, Any]]) -> None:
    """Each tidings target's req/s as a share of the ceiling's, and the ratio goals."""
    ceiling = targets.get(CEILING, {}).get("requests_per_s")
    for name, r in targets.items():
        if name == CEILING or r.get("skipped") or not ceiling:
            continue
        r["ratio_to_ceiling"] = round(r["requests_per_s"] / ceiling, 3)
        if name in GOAL_RATIO:
            r["goal_ratio"] = GOAL_RATIO[name]
            r["meets_ratio_goal"] = r["ratio_to_ceiling"] >= GOAL_RATIO[name]


def _goals(r: dict[str, Any]) -> str:
    """The goal lines of one target, met or MISSED."""
    goals = []
    if "goal_p99_ms" in r:
        goals.append(f"p99 ≤ {r['goal_p99_ms']:.0f}: " + ("met" if r["meets_goal"] else "MISSED"))
    if "goal_ratio" in r:
        met = "met" if r["meets_ratio_goal"] else "MISSED"
        goals.append(f"ratio ≥ {r['goal_ratio']}: {met}")
    return "; ".join(goals)


# -- driver -------------------------------------------------------------------------------


def _summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140)
    console.print(
        f"store: {results['db']} ({results['readers']:,} readers); {results['mode']}; "
        f"{results['workers']} server worker process(es), up in "
        f"{results['server_start_seconds']} s (ceiling: {results.get('ceiling_start_seconds')}"
        f" s); {results['cores']} cores shared by the server, the load generator (one Python "
        f"process, client {results['args']['client']}) and anything else running",
        markup=False,
    )
    console.print(f"before: {results['uptime_start']}", markup=False)
    for line in results["busy_start"]:
        console.print(f"  busy: {line}", markup=False)
    table = Table(title=f"{results['concurrency']} concurrent clients on 127.0.0.1, ms")
    columns = ("target", "requests", "errors", "req/s", "ratio to ceiling", "p50", "p95", "p99")
    columns += ("max", "server cpu", "client cpu", "goal")
    for name in columns:
        table.add_column(name, justify="left" if name in ("target", "goal") else "right")
    for name, r in results["targets"].items():
        if r.get("skipped"):
            table.add_row(name, "skipped", *[""] * 9, r["skipped"][:30])
            continue
        ratio = r.get("ratio_to_ceiling")
        table.add_row(
            name,
            f"{r['requests']:,}",
            str(r["errors"]),
            f"{r['requests_per_s']:.1f}",
            "1" if name == CEILING else ("" if ratio is None else f"{ratio:.3f}"),
            *(f"{r.get(k, float('nan')):.1f}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            f"{r['server_cpu_cores']:.2f} cores",
            f"{r['client_cpu_cores']:.2f} cores",
            _goals(r),
        )
    console.print(table)
    for name, r in results["targets"].items():
        if not r.get("skipped"):
            console.print(
                f"{name}: {r['path']}; bounded by {r['bounded_by']}; first call "
                f"{r['probe']['ms']:.0f} ms; warm-up {r['warmup']['requests']} of "
                f"{r['warmup']['wanted']}; statuses {r['statuses']}; server "
                f"{r['server_cpu_ms_per_request']} ms CPU/request, client "
                f"{r['client_cpu_ms_per_request']} ms; load {r['load_before']} -> "
                f"{r['load_after']}",
                markup=False,
            )
    if results.get("ceiling_body_bytes"):
        console.print(
            f"ceiling: FastAPI + uvicorn (benchmarks/ceiling_app.py), {results['workers']} "
            f"worker process(es), answering the {results['ceiling_body_bytes']:,} bytes of a "
            f"real {CEILING_PATH} response",
            markup=False,
        )
    rss = results["server_rss_mb"]
    console.print(
        f"server peak RSS {rss.get('VmHWM')} MB over {rss.get('processes')} processes (the "
        f"largest {rss.get('VmHWM_max')} MB); events {results['events_before']:,} -> "
        f"{results['events_after']:,} (+{results['events_after'] - results['events_before']:,}"
        f": feed impressions; {results['events_deleted']:,} deleted after the run)"
    )
    for line in results["feeds_made"]:
        console.print(line, markup=False)
    console.print(f"after: {results['uptime_end']}", markup=False)


def _matrix_summary(cells: list[dict[str, Any]]) -> None:
    """One table: api-feed and the ceiling for each combination."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    table = Table(title=f"api-feed against the ceiling, {cells[0]['concurrency']} clients, ms")
    columns = ("store", "mode", "workers", "warm-up", "requests", "errors", "p50", "p99")
    columns += ("req/s", "ceiling p50", "ceiling p99", "ceiling req/s", "ratio", "goals")
    for name in columns:
        left = name in ("store", "mode", "goals")
        table.add_column(name, justify="left" if left else "right", no_wrap=True)
    for cell in cells:
        feed = cell["targets"].get(CEILING_TARGET, {})
        ceiling = cell["targets"].get(CEILING, {})
        if feed.get("skipped") or "requests" not in feed:
            table.add_row(cell["backend"], cell["mode"], str(cell["workers"]), "skipped")
            continue
        ratio = feed.get("ratio_to_ceiling")
        goals = []
        if "meets_goal" in feed:
            goals.append("p99 " + ("met" if feed["meets_goal"] else "MISSED"))
        if "meets_ratio_goal" in feed:
            goals.append("ratio " + ("met" if feed["meets_ratio_goal"] else "MISSED"))
        hot = cell["args"]["hot"]
        table.add_row(
            cell["backend"],
            f"warm {hot}" if hot else "cold",
            str(cell["workers"]),
            f"{feed['warmup']['requests']}/{feed['warmup']['wanted']}",
            f"{feed['requests']:,}",
            str(feed["errors"]),
            f"{feed.get('p50_ms', float('nan')):.1f}",
            f"{feed.get('p99_ms', float('nan')):.1f}",
            f"{feed['requests_per_s']:.1f}",
            f"{ceiling.get('p50_ms', float('nan')):.1f}",
            f"{ceiling.get('p99_ms', float('nan')):.1f}",
            f"{ceiling.get('requests_per_s', float('nan')):.1f}",
            "" if ratio is None else f"{ratio:.3f}",
            ", ".join(goals),
        )
    console.print(table)
    console.print(
        f"goals: api-feed p99 ≤ {GOAL_P99_MS[CEILING_TARGET]:.0f} ms and ratio ≥ "
        f"{GOAL_RATIO[CEILING_TARGET]} of the ceiling; warm-up: requests made of those wanted "
        "(a warm cell whose warm-up ran out of time is partly cold)"
    )


def _bench(
    url: str, targets: dict[str, str], args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    """One server configuration (args.workers, args.hot): tidings serve on ``url`` loaded
    with each target, then the ceiling with the same workers and load."""
    from tidings.library import Tidings

    results: dict[str, Any] = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "db": _shown(url),
        "backend": _backend(url),
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
    results["events_before"], last_event = _events(url)
    signed_in = any(path.startswith(SESSION) for path in targets.values())
    sessions = _sessions(url, readers) if signed_in else {}
    port = args.port or measure.free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"starting tidings serve on {base} with {args.workers} worker(s) (log: {log})")
    results["targets"] = {}
    body = b""
    try:
        server, up = _start(url, port, log, args.workers)
        results["server_start_seconds"] = round(up, 1)
        try:
            with Tidings(url) as tidings:
                key = tidings.add_api_key("bench")
            for name, path in targets.items():
                requests = _Requests(path, key, sessions)
                results["targets"][name], probed = _target(
                    name, path, base, requests, readers, args, server
                )
                body = probed if name == CEILING_TARGET else body
            if not body and not args.no_ceiling:  # the ceiling serves a real feed body
                import httpx

                path, headers = _Requests(CEILING_PATH, key, sessions)(readers[0])
                answer = httpx.get(base + path, headers=headers, timeout=args.timeout)
                body = answer.content if answer.status_code == 200 else b""
            results["server_rss_mb"] = measure.process_memory(server.pid)
            results["server_cpu_seconds"] = round(measure.process_cpu(server.pid), 1)
        finally:
            measure.stop_server(server)
    finally:
        _close_sessions(url, sessions)
    results["feeds_made"] = _feeds_made(log)
    if body:  # tidings has stopped: the ceiling has the cores to itself, as tidings had
        body_file = RESULTS / "ceiling-body.json"
        body_file.write_bytes(body)
        results["ceiling_body_bytes"] = len(body)
        ceiling_log = log.with_name(log.stem + "-ceiling.log")
        ceiling_port = measure.free_port()
        ceiling, up = _start_ceiling(body_file, ceiling_port, ceiling_log, args.workers)
        results["ceiling_start_seconds"] = round(up, 1)
        try:
            requests = _Requests(CEILING_PATH, "bench", {})
            ceiling_base = f"http://127.0.0.1:{ceiling_port}"
            results["targets"][CEILING], _ = _target(
                CEILING, CEILING_PATH, ceiling_base, requests, readers, args, ceiling, args.warmup
            )
        finally:
            measure.stop_server(ceiling)
        _ratios(results["targets"])
    elif not args.no_ceiling:
        print(f"no {CEILING_PATH} body to serve: no ceiling measured")
    results["events_after"], _ = _events(url)
    results["events_deleted"] = 0 if args.keep_events else _delete_events_after(url, last_event)
    results["uptime_end"] = _uptime()
    return results


def _matrix(args: argparse.Namespace, sqlite_url: str) -> list[dict[str, Any]]:
    """api-feed and the ceiling for {warm, cold} × {1, 2 workers} × {SQLite, PostgreSQL}."""
    stores = {"sqlite": sqlite_url}
    if _has_store(args.pg_url):
        stores["postgresql"] = args.pg_url
    else:
        print(f"no PostgreSQL copy at {_shown(args.pg_url)} (benchmarks/to_postgres.py): skipped")
    targets = {CEILING_TARGET: CEILING_PATH}
    cells = []
    for backend, url in stores.items():
        for hot in (args.matrix_hot, 0):
            for workers in (1, 2):
                cell_args = argparse.Namespace(**vars(args))
                cell_args.hot, cell_args.workers = hot, workers
                label = f"{backend}-{'warm' if hot else 'cold'}-{workers}w"
                print(f"-- {label}")
                log = RESULTS / f"serve-matrix-{label}.log"
                cells.append(_bench(url, targets, cell_args, log))
                feed = cells[-1]["targets"].get(CEILING_TARGET, {})
                print(f"-- {label}: ratio to ceiling {feed.get('ratio_to_ceiling')}")
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db",
        default=str(RESULTS / "feed-bench.db"),
        help="a SQLite path or a database URL (default: benchmarks/results/feed-bench.db)",
    )
    parser.add_argument(
        "--requests", type=int, help=f"per target (default 2000; {MATRIX_REQUESTS} in --matrix)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        help=f"time bound per target (default 60; {MATRIX_SECONDS:.0f} in --matrix)",
    )
    parser.add_argument("--warmup", type=int, default=50, help="uncounted requests per target")
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        help=f"time bound of a warm-up (default 10 × --seconds; {MATRIX_WARMUP_SECONDS:.0f} "
        "in --matrix)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: raw keep-alive HTTP/1.1 connections (default; ~10x less client "
        "CPU a request, so the ceiling is the server's) or httpx",
    )
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
    parser.add_argument("--no-ceiling", action="store_true", help="skip the ceiling")
    parser.add_argument(
        "--keep-events",
        action="store_true",
        help="keep the impressions the run recorded (default: deleted once the server stops)",
    )
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="api-feed + ceiling for {warm, cold} × {1, 2 workers} × {SQLite, PostgreSQL}",
    )
    parser.add_argument(
        "--matrix-hot", type=int, default=500, metavar="N", help="hot readers of warm cells"
    )
    parser.add_argument(
        "--pg-url", default=PG_URL, help=f"the PostgreSQL copy for --matrix (default {PG_URL})"
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="default: results/serve.json (serve-matrix.json)")
    args = parser.parse_args()
    short = args.matrix  # a matrix cell is short by default: eight of them run in ~10 min
    if args.requests is None:
        args.requests = MATRIX_REQUESTS if short else 2000
    if args.seconds is None:
        args.seconds = MATRIX_SECONDS if short else 60.0
    if args.warmup_seconds is None and short:
        args.warmup_seconds = MATRIX_WARMUP_SECONDS
    url = measure.database_url(args.db)
    RESULTS.mkdir(parents=True, exist_ok=True)

    if args.matrix:
        if args.no_ceiling:
            raise SystemExit("--matrix compares with the ceiling: drop --no-ceiling")
        out = args.out or RESULTS / "serve-matrix.json"
        cells = _matrix(args, url)
        out.write_text(json.dumps(cells, indent=2, default=str))
        _matrix_summary(cells)
        print(f"wrote {out}")
        return

    targets = dict(TARGETS)
    for spec in args.target:
        name, sep, path = spec.partition("=")
        if not sep or not path.removeprefix(SESSION).startswith("/"):
            raise SystemExit(f"--target wants NAME=/path or NAME=session:/path, not {spec!r}")
        if name == CEILING:
            raise SystemExit(f"{CEILING!r} is the ceiling's name: choose another")
        targets[name] = path
    if args.only:
        targets = {k: v for k, v in targets.items() if k in args.only.split(",")}
    out = args.out or RESULTS / "serve.json"
    results = _bench(url, targets, args, RESULTS / "serve-server.log")
    out.write_text(json.dumps(results, indent=2, default=str))
    _summary(results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
