"""What a native RSS app's sync costs on a large store: a reader subscribed to every source
of the benchmark store (100k articles) syncs through the Google Reader and Fever APIs, in
process (FastAPI's TestClient: the app's full request path, no network).

Measured, as NetNewsWire and Reeder sync: unread ids in pages of 1,000 through the whole
reading list (``c`` continuation), contents of 250 ids a call (NetNewsWire's batch), the
unread counts, Fever's unread ids (one list of every id) and a "For you" page of 20. Each
is also given as a ratio to a reference measured in the same run, a two-word full-text
search (issue 14's benchmark), since the machine is shared and noisy. The feed benchmark's
store has no sources (it is bulk-loaded): a copy of it is given one per outlet name
(``benchmarks/results/apps-bench.db``).

    python benchmarks/apps.py [--db benchmarks/results/feed-bench.db | postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from measure import database_url, stats, uptime
from sqlalchemy import select, update

from tidings.library import Tidings
from tidings.store import sources as source_store
from tidings.store import subscriptions as subscription_store
from tidings.store.app_passwords import fever_key
from tidings.store.schema import articles, sources
from tidings.web import create_app

RESULTS = Path(__file__).parent / "results"
READER = "bench-app"
B = "/api/greader/reader/api/0"


def _with_sources(store: Tidings) -> None:
    """Give the store's articles sources when they have none (the feed benchmark's store is
    bulk-loaded): one source per outlet name, as if each outlet were a feed."""
    with store.engine.begin() as connection:
        if (
            connection.execute(
                select(articles.c.id).where(articles.c.source_id.is_(None)).limit(1)
            ).first()
            is None
        ):
            return
        names = connection.execute(
            select(articles.c.source_name).where(articles.c.source_id.is_(None)).distinct()
        ).scalars()
        now = datetime.now(UTC)
        for outlet in [n or "unnamed" for n in names]:
            url = "https://bench.invalid/" + re.sub(r"[^a-z0-9]+", "-", outlet.lower()) + ".xml"
            source, _ = source_store.add(connection, url, now=now, title=outlet)
            connection.execute(
                update(articles)
                .where(articles.c.source_id.is_(None), articles.c.source_name == outlet)
                .values(source_id=source.id)
            )


def _copy(db: str) -> str:
    """The benchmark's own copy of a SQLite store (it adds sources and a reader); a
    PostgreSQL URL is used as it is."""
    if "://" in db:
        return db
    own = RESULTS / "apps-bench.db"
    if not own.exists():
        source = Path(database_url(db).removeprefix("sqlite:///"))
        shutil.copyfile(source, own)
    return database_url(str(own))


def _reader(store: Tidings) -> tuple[str, str]:
    """The benchmark reader, subscribed to every source, and a fresh app password."""
    try:
        store.reader(READER)
    except Exception:
        store.add_reader(READER)
    who = store.reader(READER)
    with store.engine.begin() as connection:
        ids = [r.id for r in connection.execute(select(sources.c.id))]
        subscription_store.add_many(connection, who.id, ids, now=datetime.now(UTC))
    for made in store.app_passwords(READER):
        store.revoke_app_password(READER, made.id)
    _, password = store.add_app_password(READER, "benchmark")
    return READER, password


def _timed(work: Any, runs: int) -> list[float]:
    ms = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        ms.append((time.perf_counter() - start) * 1000)
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=str(RESULTS / "feed-bench.db"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    store = Tidings(_copy(args.db))
    _with_sources(store)
    client = TestClient(create_app(store))
    name, password = _reader(store)
    login = client.post(
        "/api/greader/accounts/ClientLogin", data={"Email": name, "Passwd": password}
    )
    token = login.text.split("Auth=")[1].strip()
    auth = {"Authorization": f"GoogleLogin auth={token}"}
    key = fever_key(name, password)
    unread_query = {
        "s": "user/-/state/com.google/reading-list",
        "xt": "user/-/state/com.google/read",
        "n": 1000,
        "output": "json",
    }
    report: dict[str, Any] = {"db": args.db, "load": uptime()}

    # the reference: a two-word full-text search of the same store (issue 14's benchmark)
    # (one search first: the first one waits for the meaning index to load)
    store.search("president election", limit=20)
    reference = _timed(lambda: store.search("president election", limit=20), args.runs * 4)

    pages: list[float] = []
    every: list[str] = []
    continuation = None
    while True:
        query = dict(unread_query, **({"c": continuation} if continuation else {}))
        start = time.perf_counter()
        answer = client.get(B + "/stream/items/ids", params=query, headers=auth).json()
        pages.append((time.perf_counter() - start) * 1000)
        every += [r["id"] for r in answer["itemRefs"]]
        continuation = answer.get("continuation")
        if not continuation:
            break
    report["unread_ids_pages_of_1000"] = {**stats(pages), "ids": len(every)}

    batches = [every[i : i + 250] for i in range(0, min(len(every), 250 * args.runs * 4), 250)]
    contents = []
    for batch in batches:
        start = time.perf_counter()
        answer = client.post(B + "/stream/items/contents", data={"i": batch}, headers=auth)
        assert answer.status_code == 200 and len(answer.json()["items"]) == len(batch)
        contents.append((time.perf_counter() - start) * 1000)
    report["contents_of_250"] = stats(contents)
    report["unread_count"] = stats(
        _timed(lambda: client.get(B + "/unread-count", headers=auth), args.runs)
    )
    report["fever_unread_item_ids"] = stats(
        _timed(
            lambda: client.post("/api/fever/?api&unread_item_ids", data={"api_key": key}),
            args.runs,
        )
    )
    for_you = "/stream/contents/user/-/label/For you"
    client.get(B + for_you, params={"n": 20}, headers=auth)  # the reader's first ranking
    report["for_you_20"] = stats(
        _timed(lambda: client.get(B + for_you, params={"n": 20}, headers=auth), args.runs * 4)
    )
    report["reference_search_2_words"] = stats(reference)
    base = report["reference_search_2_words"]["p50_ms"]
    report["ratio_to_reference_p50"] = {
        k: round(v["p50_ms"] / base, 2)
        for k, v in report.items()
        if isinstance(v, dict) and "p50_ms" in v and k != "reference_search_2_words"
    }
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "apps.json").write_text(json.dumps(report, indent=2))
    store.close()


if __name__ == "__main__":
    main()
