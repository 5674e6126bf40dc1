"""Search latency on the 100k-article bench store: ``Tidings.search`` per kind of query,
beside the bare work it cannot avoid, measured in the same run.

Run on demand (not a test):

    python benchmarks/search.py                       # feed-bench.db (SQLite)
    python benchmarks/search.py --db postgresql+psycopg://postgres@127.0.0.1:5432/tidings_bench
    python benchmarks/search.py --queries 100 --warmup 20 --remigrate

It opens the store benchmarks/feed.py built (benchmarks/results/feed-bench.db: 100k
articles, 10k readers; for PostgreSQL the copy benchmarks/to_postgres.py makes) with
``Tidings(url)``, which runs any migration the store lacks: on a store built before search
existed that is revision 0010 building the full-text index of every article, and the time
the open took is reported (``--remigrate`` downgrades the search revision and upgrades again
to time the index build on a store that already has it).

Queries are drawn from the store's own headlines (``--seed``, deterministic): content words
(not stopwords, not numbers, three letters or more) of a random article's title — 1, 3 or 6
of them, two consecutive ones as a ``"quoted phrase"``, 3 with ``source:`` that article's
outlet, and 3 for a signed-in reader (the re-rank for them). The first search after opening
is timed on its own (cold: the embedding model and the 100k-row meaning matrix load then);
--warmup searches follow, not counted; then --queries searches of each kind, each query
new to the process (search keeps the embeddings of recent queries).

The reference, per 3-word query, in the same run: one bare full-text query in SQL (any of
the words, best 100 by the engine's rank: FTS5 ``MATCH … ORDER BY rank`` or ``@@`` and
``ts_rank``), embedding the query text, and one NumPy product of the same 100k × 384 matrix
with its top 100 — the least any fused search must do. The ratio is search's p50 over the
sum of the three p50s. The bench store's vectors are synthetic (clustered per story, not
MiniLM of the text): meaning matches mean nothing there, but they cost what real ones do.

Writes benchmarks/results/search-<backend>.json and prints a summary.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import measure  # benchmarks/measure.py, beside this script
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SEARCH_REVISION = "0010"  # the migration that builds the full-text index
LIMIT = 20  # results per search, as the web page asks
REFERENCE_DEPTH = 100
KINDS = ("1 word", "3 words", "6 words", "phrase", "3 words + source:", "3 words, a reader")
WORD = re.compile(r"[^\W\d_]{3,}")  # letters only: the words people type


def _revision(url: str) -> str | None:
    """The store's schema revision, read without migrating it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no store yet
        return None
    finally:
        engine.dispose()


def remigrate(engine: Any) -> float:
    """Take the search revision off and put it back: the seconds the upgrade took."""
    from alembic import command
    from alembic.config import Config

    from tidings.store import database

    config = Config()
    config.set_main_option("script_location", str(database.MIGRATIONS))
    with engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.downgrade(config, str(int(SEARCH_REVISION) - 1).zfill(4))
    started = time.perf_counter()
    database.migrate(engine)
    return time.perf_counter() - started


# -- queries ------------------------------------------------------------------------------


def draw_queries(engine: Any, per_kind: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """``(kind, query)`` lists drawn from random stored headlines; a reader name rides along
    in the second slot of the reader kind (else it is "")."""
    from sqlalchemy import text

    from tidings.search.query import STOPWORDS

    rng = random.Random(seed)
    with engine.connect() as connection:
        low, high = connection.execute(text("SELECT min(id), max(id) FROM articles")).one()
        readers = [n for (n,) in connection.execute(text("SELECT name FROM readers"))]
        rows: list[tuple[str, str | None]] = []
        while len(rows) < per_kind * len(KINDS) * 3:
            ids = sorted({rng.randint(low, high) for _ in range(2000)})
            marks = ", ".join(str(i) for i in ids)
            rows += [
                (t, s)
                for t, s in connection.execute(
                    text(f"SELECT title, source_name FROM articles WHERE id IN ({marks})")
                )
            ]
    rng.shuffle(rows)
    out: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
    seen: set[str] = set()
    for title, source in rows:
        tokens = [w.lower() for w in WORD.findall(title)]
        words = [w for w in dict.fromkeys(tokens) if w not in STOPWORDS]
        pairs = [
            (a, b)
            for a, b in itertools.pairwise(tokens)
            if a not in STOPWORDS and b not in STOPWORDS and a != b
        ]
        for kind in KINDS:
            if len(out[kind]) >= per_kind:
                continue
            query = _query(kind, words, pairs, source, rng)
            if query and query not in seen:
                seen.add(query)
                reader = rng.choice(readers) if kind.endswith("reader") and readers else ""
                out[kind].append((query, reader))
                break
    return out


def _query(
    kind: str,
    words: list[str],
    pairs: list[tuple[str, str]],
    source: str | None,
    rng: random.Random,
) -> str | None:
    """One query of ``kind`` from a headline's content words and consecutive word pairs."""
    if kind == "1 word":
        return rng.choice(words) if words else None
    if kind == "6 words":
        return " ".join(rng.sample(words, 6)) if len(words) >= 6 else None
    if kind == "phrase":
        return f'"{" ".join(rng.choice(pairs))}"' if pairs else None
    if len(words) < 3:
        return None
    three = " ".join(rng.sample(words, 3))
    if kind == "3 words + source:":
        return f'{three} source:"{source}"' if source else None
    return three


# -- timing -------------------------------------------------------------------------------


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return 1000 * (time.perf_counter() - started), result


def reference(tidings: Any, queries: list[str]) -> dict[str, Any]:
    """The bare work per query: one full-text SQL query, the embedding, one matrix product."""
    from sqlalchemy import text

    from tidings.search.meaning import MeaningIndex
    from tidings.understand.embeddings import default_embedder

    sqlite = tidings.engine.dialect.name == "sqlite"
    if sqlite:
        sql = text(
            "SELECT rowid FROM article_search WHERE article_search MATCH :q ORDER BY rank LIMIT :n"
        )
    else:
        sql = text(
            "SELECT id FROM articles, to_tsquery('tidings_search', :q) q"
            " WHERE search_vector @@ q ORDER BY ts_rank(search_vector, q) DESC LIMIT :n"
        )
    started = time.perf_counter()
    snapshot = MeaningIndex(tidings.engine).snapshot()  # the same matrix search holds
    load_s = time.perf_counter() - started
    matrix = snapshot.vectors
    embedder = default_embedder()
    fts, embed, dot, found = [], [], [], []
    with tidings.engine.connect() as connection:
        for query in queries:
            words = query.split()
            expression = " OR ".join(f'"{w}"' for w in words) if sqlite else " | ".join(words)
            ms, rows = _timed(
                lambda e=expression: connection.execute(sql, {"q": e, "n": REFERENCE_DEPTH}).all()
            )
            fts.append(ms)
            found.append(len(rows))
            ms, vectors = _timed(lambda q=query: embedder.embed([f"ref {q}"]))
            embed.append(ms)

            def product(v: np.ndarray = vectors[0]) -> np.ndarray:
                sims = matrix @ v
                top = np.argpartition(-sims, REFERENCE_DEPTH)[:REFERENCE_DEPTH]
                return top[np.argsort(-sims[top])]

            ms, _ = _timed(product)
            dot.append(ms)
    return {
        "fts_sql": measure.stats(fts),
        "embed_query": measure.stats(embed),
        "matrix_product": measure.stats(dot),
        "matrix_rows": int(matrix.shape[0]),
        "matrix_load_seconds": round(load_s, 2),
        "fts_mean_rows": round(float(np.mean(found)), 1) if found else 0,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tidings.library import Tidings

    url = measure.database_url(args.db)
    results: dict[str, Any] = {
        "db": _shown(url),
        "uptime_start": measure.uptime(),
        "revision_before": _revision(url),
    }
    print(results["uptime_start"], flush=True)
    opened_ms, tidings = _timed(lambda: Tidings(url))
    results["open_seconds"] = round(opened_ms / 1000, 1)
    results["revision_after"] = _revision(url)
    migrated = results["revision_before"] != results["revision_after"]
    print(
        f"opened in {results['open_seconds']} s"
        + (
            f" (migrated {results['revision_before']} -> {results['revision_after']})"
            if migrated
            else ""
        ),
        flush=True,
    )
    try:
        if args.remigrate:
            results["remigrate_seconds"] = round(remigrate(tidings.engine), 1)
            print(f"search index rebuilt in {results['remigrate_seconds']} s", flush=True)
        results["articles"] = tidings.article_count()
        queries = draw_queries(tidings.engine, args.queries + args.warmup, args.seed)
        results["examples"] = {kind: [q for q, _ in qs[:3]] for kind, qs in queries.items()}
        first, reader = queries["3 words"][0]
        ms, page = _timed(lambda: tidings.search(first, limit=LIMIT))
        results["cold_first_search_ms"] = round(ms, 1)
        print(f"first (cold) search {first!r}: {ms:.0f} ms, {len(page.hits)} hits", flush=True)
        warm = [(q, r) for qs in queries.values() for q, r in qs[: args.warmup]][1:]
        for query, reader in warm:
            tidings.search(query, reader=reader or None, limit=LIMIT)
        results["kinds"] = {}
        for kind, drawn in queries.items():
            timings, hits = [], []
            for query, reader in drawn[args.warmup :]:
                ms, page = _timed(
                    lambda q=query, r=reader: tidings.search(q, reader=r or None, limit=LIMIT)
                )
                timings.append(ms)
                hits.append(len(page.hits))
            stats = measure.stats(timings)
            stats["mean_hits"] = round(float(np.mean(hits)), 1) if hits else 0
            results["kinds"][kind] = stats
            print(f"{kind}: {json.dumps(stats)}", flush=True)
        three = [q for q, _ in queries["3 words"][args.warmup :]]
        results["reference"] = reference(tidings, three)
        ref = results["reference"]
        floor = sum(ref[k]["p50_ms"] for k in ("fts_sql", "embed_query", "matrix_product"))
        results["reference_p50_sum_ms"] = round(floor, 1)
        results["ratio_3_words_p50_to_reference"] = (
            round(results["kinds"]["3 words"]["p50_ms"] / floor, 2) if floor else None
        )
        print(f"reference: {json.dumps(ref)}", flush=True)
    finally:
        tidings.close()
    results["uptime_end"] = measure.uptime()
    return results


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(
        title=f"Tidings.search on {results['db']} ({results['articles']:,} articles), limit {LIMIT}"
    )
    for column in ("query", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "hits"):
        table.add_column(column, justify="left" if column == "query" else "right")
    for kind, s in results["kinds"].items():
        table.add_row(
            kind,
            str(s["n"]),
            f"{s['p50_ms']:.1f}",
            f"{s['p95_ms']:.1f}",
            f"{s['p99_ms']:.1f}",
            f"{s['max_ms']:.1f}",
            f"{s['mean_hits']:.1f}",
        )
    console.print(table)
    ref = results["reference"]
    console.print(
        f"reference p50 (same run): full-text SQL {ref['fts_sql']['p50_ms']} ms "
        f"(p99 {ref['fts_sql']['p99_ms']}), embedding {ref['embed_query']['p50_ms']} ms, "
        f"matrix product {ref['matrix_product']['p50_ms']} ms over {ref['matrix_rows']:,} rows "
        f"= {results['reference_p50_sum_ms']} ms; 3-word search / reference = "
        f"{results['ratio_3_words_p50_to_reference']}"
    )
    console.print(
        f"open {results['open_seconds']} s (revision {results['revision_before']} -> "
        f"{results['revision_after']})"
        + (
            f"; index rebuilt in {results['remigrate_seconds']} s"
            if "remigrate_seconds" in results
            else ""
        )
        + f"; first (cold) search {results['cold_first_search_ms']} ms"
    )
    console.print(f"{results['uptime_start']}\n{results['uptime_end']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db",
        default=str(RESULTS / "feed-bench.db"),
        help="a SQLite path or a database URL (default: the feed.py store)",
    )
    parser.add_argument("--queries", type=int, default=200, help="measured per kind")
    parser.add_argument("--warmup", type=int, default=10, help="uncounted, per kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--remigrate", action="store_true", help="time building the search index again"
    )
    parser.add_argument("--out", type=Path, help="default: results/search-<backend>.json")
    args = parser.parse_args()
    results = run(args)
    backend = "sqlite" if results["db"].startswith("sqlite") else "postgresql"
    out = args.out or RESULTS / f"search-{backend}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    _summary(results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
