"""Understanding spread over workers: articles per second with one ``tidings work`` worker
and with two sharing one PostgreSQL store, measured in the same run, and the scaling as
their ratio; plus what the leases cost (claim and give back every batch, no models).

Run on demand (not a test):  python benchmarks/work.py [--articles 800] [--rounds 1]
                                                       [--batch-size 64]

Wikinews articles go into a fresh PostgreSQL schema once; before each measurement their
understanding is wiped (stories, entities, sections, embeddings). Each worker is its own
process that loads and warms its models first; then all start at once (the models' load
time is not counted) and the clock runs until the last one has nothing left to claim.
Rounds alternate 1 and 2 workers and the best of each counts (the machine is shared).
With ``--pin`` worker N runs on core N only (its process pool too), as if each worker had
a machine of one core: the scaling of the claiming itself, not of two workers sharing two
cores (one worker alone already keeps both busy). Writes benchmarks/results/work.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WIKINEWS = "data/wikinews/wikinews_2004_2018.jsonl"


def worker(database_url: str, batch_size: int, core: int | None) -> None:
    """One worker process: load the models, say ready, wait for "go", understand what it
    can claim, print its report."""
    if core is not None:
        os.sched_setaffinity(0, {core})  # before any thread or process starts
    from tidings.library import Tidings
    from tidings.understand.pipeline import Understander
    from tidings.understand.worker import Worker

    with Tidings(database_url) as tidings:
        understander = Understander()
        understander.embedder.embed(["Warm up in Paris."])
        understander.extractor.extract(["Warm up in Paris."])
        print("ready", flush=True)
        sys.stdin.readline()
        report = Worker(understander, tidings.engine, batch_size=batch_size).run_once()
        print(json.dumps(report.to_dict()), flush=True)


def run_workers(database_url: str, count: int, batch_size: int, pin: bool) -> dict[str, object]:
    command = [sys.executable, __file__, "--worker", database_url, "--batch-size", str(batch_size)]
    cores = os.cpu_count() or 1
    # pinned, a worker's understanding pool is one process, as on a one-core machine
    env = {**os.environ, "TIDINGS_UNDERSTAND_PROCESSES": "1"} if pin else None
    procs = [
        subprocess.Popen(
            command + (["--core", str(n % cores)] if pin else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=3600)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    seconds = time.perf_counter() - started
    articles = sum(int(r["articles"]) for r in reports)
    return {
        "workers": count,
        "articles": articles,
        "seconds": round(seconds, 2),
        "articles_per_s": round(articles / seconds, 1),
        "per_worker": [r["articles"] for r in reports],
        "stories_started": sum(int(r["stories_started"]) for r in reports),
    }


def wipe_understanding(engine) -> None:  # type: ignore[no-untyped-def]
    """Back to just ingested: every article waits to be understood again."""
    with engine.begin() as connection:
        for statement in (
            "UPDATE articles SET understood_at = NULL, story_id = NULL,"
            " extracted_key_points = NULL, lease_owner = NULL, lease_expires_at = NULL",
            "DELETE FROM article_embeddings",
            "DELETE FROM article_topics WHERE origin IN ('entity', 'section')",
            "DELETE FROM stories",
        ):
            connection.exec_driver_sql(statement)


def lease_cost(database_url: str, batch_size: int) -> dict[str, object]:
    """Claim and give back every article, batch by batch, with no understanding between:
    the leases' own cost per batch."""
    from datetime import UTC, datetime

    from tidings.library import Tidings
    from tidings.store import claims

    with Tidings(database_url) as tidings:
        engine = tidings.engine
        batches = 0
        after_id = 0
        started = time.perf_counter()
        while True:
            with engine.begin() as connection:
                batch = claims.claim(
                    connection, "bench", limit=batch_size, now=datetime.now(UTC),
                    lease_seconds=60, after_id=after_id,
                )  # fmt: skip
            if not batch:
                break
            after_id = batch[-1].id
            ids = [a.id for a in batch]
            with engine.begin() as connection:  # what a batch's store transaction adds
                claims.lock_grouping(connection)
                claims.hold(connection, "bench", ids, now=datetime.now(UTC), lease_seconds=60)
            with engine.begin() as connection:
                claims.release(connection, "bench", ids)
            batches += 1
        seconds = time.perf_counter() - started
    return {"batches": batches, "ms_per_batch": round(1000 * seconds / max(batches, 1), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--articles", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--pin", action="store_true", help="Worker N on core N only.")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--core", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.batch_size, args.core)
        return

    from tidings.library import Tidings

    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    lines = (args.shared / WIKINEWS).read_text(encoding="utf-8").splitlines()
    sample = out / "work-sample.jsonl"
    sample.write_text("\n".join(lines[: args.articles]) + "\n", encoding="utf-8")

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    try:
        with Tidings(url) as tidings:
            list(tidings.ingest([str(sample)]))
            total = tidings.article_count()
            engine = tidings.engine
            runs: list[dict[str, object]] = []
            for _ in range(args.rounds):
                for count in (1, 2):
                    wipe_understanding(engine)
                    run = run_workers(url, count, args.batch_size, args.pin)
                    assert run["articles"] == total, run  # each article exactly once
                    runs.append(run)
                    print(json.dumps(run), flush=True)
            wipe_understanding(engine)
            leases = lease_cost(url, args.batch_size)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    def best(count: int) -> float:
        return max(float(r["articles_per_s"]) for r in runs if r["workers"] == count)  # type: ignore[arg-type]

    one, two = best(1), best(2)
    row = {
        "articles": total,
        "batch_size": args.batch_size,
        "pinned": args.pin,
        "one_worker_per_s": one,
        "two_workers_per_s": two,
        "scaling_two_over_one": round(two / one, 2),
        "lease_ms_per_batch": leases["ms_per_batch"],
        "lease_share_of_a_batch": round(
            float(leases["ms_per_batch"]) / (1000 * args.batch_size / one),
            4,  # type: ignore[arg-type]
        ),
        "runs": runs,
    }
    print(json.dumps(row, indent=2))
    name = "work-pinned.json" if args.pin else "work.json"
    (out / name).write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
