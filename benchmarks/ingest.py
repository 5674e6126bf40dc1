"""Ingest throughput and peak memory, on SQLite and on PostgreSQL.

Run on demand (not a test):  python benchmarks/ingest.py [--shared ../shared]

Each measurement runs in a fresh subprocess on an empty database so its peak RSS is its own.
Prints a table and writes benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def measure(database_url: str, inputs: list[str]) -> dict[str, float]:
    """Ingest ``inputs`` into ``database_url`` (in this process) and time it."""
    from tidings.library import Tidings

    started = time.perf_counter()
    with Tidings(database_url) as tidings:
        opened = time.perf_counter()
        results = list(tidings.ingest(inputs))
        elapsed = time.perf_counter() - opened
        stored = tidings.article_count()
    articles = sum(len(r.articles) for r in results)
    return {
        "inputs": len(results),
        "failed": sum(r.status == "error" for r in results),
        "articles": articles,
        "stored": stored,
        "seconds": round(elapsed, 2),
        "articles_per_s": round(articles / elapsed, 1),
        "open_seconds": round(opened - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _database(backend: str, tmp: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:8]}.db'}", None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(POSTGRES).begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    return f"{POSTGRES}?options=-csearch_path%3D{schema}", schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1:])))
        return
    data = args.shared / "data"
    corpora = {
        "wikinews jsonl": [str(p) for p in sorted((data / "wikinews").glob("*.jsonl"))],
        "feeds (22 files)": [str(data / "feeds")],
    }
    tmp = ROOT / "benchmarks" / "results"
    tmp.mkdir(parents=True, exist_ok=True)
    rows = []
    for backend in ("sqlite", "postgresql"):
        for corpus, inputs in corpora.items():
            url, schema = _database(backend, tmp)
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, *inputs],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            row = {"backend": backend, "corpus": corpus, **json.loads(out.splitlines()[-1])}
            rows.append(row)
            print(
                f"{backend:10} {corpus:18} {row['articles']:6} articles "
                f"{row['seconds']:7.2f} s  {row['articles_per_s']:8.1f} articles/s  "
                f"peak RSS {row['peak_rss_mb']:.0f} MB",
                flush=True,
            )
            if schema:
                with create_engine(POSTGRES).begin() as connection:
                    connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            else:
                for leftover in tmp.glob("bench-*.db*"):
                    leftover.unlink()
    (tmp / "ingest.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
