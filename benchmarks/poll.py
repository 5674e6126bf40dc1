"""Polling throughput: sources polled per second against a local server with 1,000 feeds
(mostly unchanged: 304s), with one worker and with two sharing the store, on SQLite and on
PostgreSQL; and each worker's peak RSS.

Run on demand (not a test):  python benchmarks/poll.py [--feeds 1000] [--changed 0.02]
                                                       [--backends sqlite,postgresql]

The server runs in its own process, on 8 loopback addresses (127.0.0.1-8, so that the
per-host limit of 2 fetches at a time leaves the 8 threads of a worker busy). Every feed
has an ETag; the store starts with the current one for all but ``--changed`` of them, which
answer 200 with a real feed (heise.atom, 15 entries). Each worker is a fresh process
(``Tidings.poll(understand=False)``), so its peak RSS is its own. Prints a table and writes
benchmarks/results/poll.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, update

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOSTS = [f"127.0.0.{n}" for n in range(1, 9)]
BODY_FEED = "data/feeds/heise.atom"


# -- the server (its own process) -------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    body: bytes = b""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        n = self.path.rsplit("/", 1)[-1]
        etag = f'"v{n}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/atom+xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


def serve(port: int) -> None:
    _Handler.body = (SHARED / BODY_FEED).read_bytes()
    servers = []
    for host in HOSTS:
        server = ThreadingHTTPServer((host, port), _Handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes it


# -- one worker (its own process) ----------------------------------------------------------


def worker(database_url: str, threads: int) -> None:
    from tidings.library import Tidings

    with Tidings(database_url) as tidings:
        started = time.perf_counter()
        report = tidings.poll(understand=False, threads=threads)
        elapsed = time.perf_counter() - started
    result = {
        "polled": len(report.outcomes),
        "not_modified": report.not_modified,
        "fetched": report.fetched,
        "errors": report.errors,
        "added": report.added,
        "seconds": round(elapsed, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "first_error": next((o.error for o in report.outcomes if o.error), None),
    }
    print(json.dumps(result), flush=True)


# -- the measurement ------------------------------------------------------------------------


def prepare(database_url: str, port: int, feeds: int, changed: float) -> None:
    """1,000 sources across the hosts, all due; each but the changed ones with the current
    ETag (so they answer 304)."""
    from tidings.library import Tidings
    from tidings.store.schema import sources

    every = max(1, round(1 / changed)) if changed else 0
    with Tidings(database_url) as tidings, tidings.engine.begin() as connection:
        rows = [
            {
                "url": f"http://{HOSTS[n % len(HOSTS)]}:{port}/feed/{n}",
                "kind": "feed",
                "added_at": _now(),
                "etag": None if every and n % every == 0 else f'"v{n}"',
            }
            for n in range(feeds)
        ]
        connection.execute(sources.insert(), rows)
        connection.execute(update(sources).values(next_poll_at=None))


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def run_workers(database_url: str, count: int, threads: int) -> dict[str, object]:
    env = {**os.environ, "TIDINGS_FETCH_ALLOW": "127.0.0.0/8"}
    command = [sys.executable, __file__, "--worker", database_url, "--threads", str(threads)]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(count)
    ]
    outputs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - started
    polled = sum(o["polled"] for o in outputs)
    slowest = max(o["seconds"] for o in outputs)
    return {
        "workers": count,
        "polled": polled,
        "not_modified": sum(o["not_modified"] for o in outputs),
        "fetched": sum(o["fetched"] for o in outputs),
        "errors": sum(o["errors"] for o in outputs),
        "per_worker": [o["polled"] for o in outputs],
        "poll_seconds": slowest,
        "sources_per_second": round(polled / slowest, 1),
        "wall_seconds_with_startup": round(wall, 2),
        "peak_rss_mb": max(o["peak_rss_mb"] for o in outputs),
        "first_error": next((o["first_error"] for o in outputs if o["first_error"]), None),
    }


def fresh(backend: str, folder: Path) -> tuple[str, object]:
    if backend == "sqlite":
        path = folder / f"poll-bench-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", path
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    return f"{POSTGRES}?options=-csearch_path%3D{schema}", schema


def drop(backend: str, handle: object) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{handle}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {handle} CASCADE")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.02, help="Share answering 200.")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port)
        return
    if args.worker:
        worker(args.worker, args.threads)
        return

    sys.path.insert(0, str(ROOT))
    from benchmarks.measure import uptime

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--port", str(args.port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    results = []
    folder = ROOT / "benchmarks" / "results"
    folder.mkdir(exist_ok=True)
    try:
        for backend in args.backends.split(","):
            for count in (1, 2):
                url, handle = fresh(backend, folder)
                try:
                    prepare(url, args.port, args.feeds, args.changed)
                    result = {"backend": backend, **run_workers(url, count, args.threads)}
                finally:
                    drop(backend, handle)
                results.append(result)
                print(
                    f"{backend:10} {count} worker(s): {result['polled']} polled "
                    f"({result['not_modified']} 304, {result['fetched']} 200, "
                    f"{result['errors']} errors; per worker {result['per_worker']}) in "
                    f"{result['poll_seconds']:.2f} s = {result['sources_per_second']}/s, "
                    f"peak RSS {result['peak_rss_mb']} MB",
                    flush=True,
                )
                if result["first_error"]:
                    print(f"  first error: {result['first_error']}")
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(10)
    summary = {
        "feeds": args.feeds,
        "changed": args.changed,
        "threads_per_worker": args.threads,
        "cpus": os.cpu_count(),
        "uptime": uptime(),
        "results": results,
    }
    (folder / "poll.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(summary["uptime"])


if __name__ == "__main__":
    main()
