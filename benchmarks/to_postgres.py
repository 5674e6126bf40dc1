"""Copy the SQLite bench store into PostgreSQL, so serve.py can load the same data there.

Run on demand (not a test):

    python benchmarks/to_postgres.py                  # feed-bench.db -> tidings_bench
    python benchmarks/to_postgres.py --replace        # drop and copy again
    python benchmarks/to_postgres.py --url postgresql+psycopg://postgres@127.0.0.1:5432/other

The target database is created if missing and migrated by ``Tidings(url)`` (the schema is
the app's own, not a copy of SQLite's); then every table of the schema's metadata is copied
in dependency order with PostgreSQL's COPY (psycopg's ``copy.write_row``: 2.8x faster than
batched INSERTs, psycopg ``executemany`` of 10k rows, on 200k events rows), with foreign-key
triggers off for the copy only (the rows come from a store that had them on), the id
sequences moved past the copied ids, and ``VACUUM ANALYZE`` so the planner knows the tables'
sizes before the first request.

A target that already has articles is left alone unless --replace. Writes
benchmarks/results/to_postgres.json (rows and seconds per table) and prints them.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tidings_bench"
BATCH = 10_000  # rows fetched from SQLite at a time


def _libpq(url: str) -> str:
    """SQLAlchemy's URL as psycopg's connection string (no ``+psycopg``)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: str, *, replace: bool) -> bool:
    """Create the database ``url`` names if missing (dropping it first with ``replace``);
    True when it was created."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise SystemExit(f"{url} names no database")
    admin = _libpq(str(parsed.set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists and replace:
            connection.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            )
            exists = None
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    return False


def _sqlite_columns(source: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]


def copy_table(source: sqlite3.Connection, target: Any, table: Any) -> dict[str, Any]:
    """Copy one table's rows (the columns both sides have) with COPY; rows and seconds.

    Values go as SQLite holds them: the timestamps SQLAlchemy wrote there are naive UTC
    text, read as UTC because the copy session's time zone is UTC; JSON is text; vectors
    are bytes (bytea)."""
    from psycopg import sql

    t0 = time.perf_counter()
    present = set(_sqlite_columns(source, table.name))
    if not present:  # a table newer than the SQLite store: nothing to copy
        return {"rows": 0, "seconds": 0.0, "absent_in_sqlite": True}
    columns = [c.name for c in table.columns if c.name in present]
    missing = [c.name for c in table.columns if c.name not in present]
    select = "SELECT {} FROM {}".format(", ".join(f'"{c}"' for c in columns), f'"{table.name}"')
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    rows = 0
    cursor = source.execute(select)
    with target.cursor() as pg, pg.copy(statement) as copy:
        while batch := cursor.fetchmany(BATCH):
            for row in batch:
                copy.write_row(row)
            rows += len(batch)
    return {
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 1),
        **({"columns_not_in_sqlite": missing} if missing else {}),
    }


def reset_sequences(target: Any, tables: list[Any]) -> None:
    """Move each serial id's sequence past the copied ids (COPY does not advance them)."""
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or key[0].type.python_type is not int:
            continue
        name = key[0].name
        sequence = target.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", (table.name, name)
        ).fetchone()[0]
        if sequence:
            target.execute(
                f'SELECT setval(%s, COALESCE((SELECT max("{name}") FROM "{table.name}"), 0) + 1,'
                " false)",
                (sequence,),
            )


def copy_store(sqlite_path: Path, url: str, *, replace: bool) -> dict[str, Any]:
    """The whole copy; what it did and how long each step took."""
    import psycopg

    from tidings.library import Tidings
    from tidings.store.schema import metadata

    timings: dict[str, Any] = {"url": url, "sqlite": str(sqlite_path)}
    t_start = time.perf_counter()
    timings["created"] = ensure_database(url, replace=replace)
    t0 = time.perf_counter()
    with Tidings(url) as tidings:  # migrates the schema to the newest revision
        if tidings.article_count():
            raise SystemExit(f"{url} already has articles: --replace to copy again")
    timings["migrate_seconds"] = round(time.perf_counter() - t0, 1)

    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    tables = list(metadata.sorted_tables)  # parents before the rows that point at them
    timings["tables"] = {}
    with psycopg.connect(_libpq(url)) as target:
        target.execute("SET TIME ZONE 'UTC'")
        # Foreign-key checks are triggers: off for this session's copy (needs a superuser).
        target.execute("SET session_replication_role = replica")
        for table in tables:
            done = copy_table(source, target, table)
            timings["tables"][table.name] = done
            print(f"{table.name}: {done['rows']:,} rows in {done['seconds']} s", flush=True)
        target.execute("SET session_replication_role = DEFAULT")
        reset_sequences(target, tables)
        target.commit()
    source.close()
    t0 = time.perf_counter()
    with psycopg.connect(_libpq(url), autocommit=True) as target:
        target.execute("VACUUM ANALYZE")
    timings["vacuum_analyze_seconds"] = round(time.perf_counter() - t0, 1)
    timings["total_seconds"] = round(time.perf_counter() - t_start, 1)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", type=Path, default=RESULTS / "feed-bench.db")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")
    parser.add_argument(
        "--replace", action="store_true", help="drop the target database first if it exists"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "to_postgres.json")
    args = parser.parse_args()
    if not args.sqlite.exists():
        raise SystemExit(f"no store at {args.sqlite}: build it with benchmarks/feed.py first")
    timings = copy_store(args.sqlite.resolve(), args.url, replace=args.replace)
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(timings, indent=2))
    print(
        f"copied in {timings['total_seconds']} s (migrate {timings['migrate_seconds']} s, "
        f"VACUUM ANALYZE {timings['vacuum_analyze_seconds']} s); wrote {args.out}"
    )


if __name__ == "__main__":
    main()
