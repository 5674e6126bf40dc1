"""Serving feeds fast without changing what a reader sees: a page the reader already holds is
a 304, a returning reader costs at most two store statements, impressions are written after
the answer, and nothing new in the store means no ranking is thrown away."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from tidings.library import Tidings
from tidings.store.schema import events
from tidings.web import create_app


@pytest.fixture(scope="module")
def store(web_store: Tidings) -> Tidings:
    return web_store


@pytest.fixture(scope="module")
def client(store: Tidings) -> TestClient:
    return TestClient(create_app(store))


@pytest.fixture(scope="module")
def newsroom(store: Tidings) -> dict[str, str]:
    return {"X-API-Key": store.add_api_key("Feed Serving Times")}


def _impressions(store: Tidings, reader: str) -> int:
    with store.engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(
                events.c.reader_id == store.reader(reader).id, events.c.kind == "impression"
            )
        ).scalar_one()


@contextmanager
def _statements(store: Tidings) -> Iterator[list[str]]:
    """The SQL statements the store runs meanwhile."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def test_a_feed_page_the_reader_already_holds_is_a_304_and_is_not_counted_as_shown_again(
    client: TestClient, store: Tidings, newsroom: dict[str, str]
) -> None:
    store.add_reader("etag-reader", follows=["North Korea"])
    asked = {"reader": "etag-reader", "limit": 10}
    first = client.get("/api/v1/feed", params=asked, headers=newsroom)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "private" in first.headers["Cache-Control"]
    shown = _impressions(store, "etag-reader")
    assert shown == len(first.json()["items"]) > 0

    again = client.get(
        "/api/v1/feed", params=asked, headers={**newsroom, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert _impressions(store, "etag-reader") == shown

    # Hiding the top story changes the page: the old tag no longer matches.
    top = first.json()["items"][0]
    store.record("etag-reader", "hide", story_id=top["story_id"])
    changed = client.get(
        "/api/v1/feed", params=asked, headers={**newsroom, "If-None-Match": first.headers["ETag"]}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert top["story_id"] not in [i["story_id"] for i in changed.json()["items"]]


def test_a_returning_reader_costs_at_most_two_store_statements(
    client: TestClient, store: Tidings, newsroom: dict[str, str]
) -> None:
    store.add_reader("warm-reader", follows=["North Korea"])
    asked = {"reader": "warm-reader", "limit": 10}
    first = client.get("/api/v1/feed", params=asked, headers=newsroom)
    with _statements(store) as statements:
        again = client.get("/api/v1/feed", params=asked, headers=newsroom)
    assert again.status_code == 200 and again.json() == first.json()
    reads = [s for s in statements if not s.lstrip().upper().startswith("INSERT")]
    assert len(reads) <= 2, reads  # the API key, and the reader with their last action
    assert _impressions(store, "warm-reader") == 2 * len(first.json()["items"])


def test_the_reader_sees_their_own_action_in_the_very_next_feed_while_it_is_kept(
    store: Tidings,
) -> None:
    store.add_reader("acting-reader", follows=["North Korea"])
    first = store.feed("acting-reader", limit=5)
    assert store.feed("acting-reader", limit=5).items == first.items  # kept, not remade
    store.record("acting-reader", "hide", story_id=first.items[0].story_id)
    after = [i.story_id for i in store.feed("acting-reader", limit=5).items]
    assert first.items[0].story_id not in after


def test_nothing_new_in_the_store_throws_no_reader_ranking_away(store: Tidings) -> None:
    store.add_reader("kept-reader", follows=["North Korea"])
    first = [i.story_id for i in store.feed("kept-reader", limit=10, record=False).items]
    ranked = store.feeds.stats["ranked"]
    # What an ingest with nothing new, or a pool refresh, does: the pool is brought up to
    # date from the store, and no story changed.
    store.feeds.invalidate()
    again = [i.story_id for i in store.feed("kept-reader", limit=10, record=False).items]
    assert again == first
    assert store.feeds.stats["ranked"] == ranked  # served from the kept ranking


def test_a_server_writes_impressions_after_answering_and_loses_none_on_shutdown(
    web_store: Tidings,
) -> None:
    with Tidings(web_store.database_url) as tidings:
        tidings.add_reader("queued-reader", follows=["North Korea"])
        key = {"X-API-Key": tidings.add_api_key("Queued Times")}
        with TestClient(create_app(tidings, serving=True)) as served:
            assert tidings.feeds.impressions.deferred
            answers = [
                served.get(
                    "/api/v1/feed", params={"reader": "queued-reader", "limit": 5}, headers=key
                )
                for _ in range(3)
            ]
            shown = sum(len(a.json()["items"]) for a in answers)
            deadline = time.monotonic() + 10
            while _impressions(tidings, "queued-reader") < shown and time.monotonic() < deadline:
                time.sleep(0.1)  # written within about half a second by the background writer
            assert _impressions(tidings, "queued-reader") == shown
            more = served.get(
                "/api/v1/feed", params={"reader": "queued-reader", "limit": 5}, headers=key
            )
        # the server stopped: whatever was still queued was written first
        assert _impressions(tidings, "queued-reader") == shown + len(more.json()["items"])


def test_lists_and_pages_carry_a_tag_and_answer_304_when_unchanged(client: TestClient) -> None:
    story = client.get("/api/v1/stories", params={"limit": 1}).json()["items"][0]["id"]
    for path in ("/api/v1/stories?limit=5", "/api/v1/topics?limit=5", f"/stories/{story}"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers.get("ETag"), path
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.content == b"", path
        other = client.get(path, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.content == first.content, path


def test_expired_snapshots_go_without_a_whole_table_sweep_on_every_first_page(
    tidings: Tidings,
) -> None:
    from datetime import UTC, datetime, timedelta

    from tidings.store import snapshots

    now = datetime.now(UTC)
    ids = {name: tidings.add_reader(name).id for name in ("returning", "gone")}
    with tidings.engine.begin() as connection:
        old = {
            n: snapshots.save(connection, i, [1, 2], now=now - timedelta(days=2))
            for n, i in ids.items()
        }
        snapshots.save(connection, ids["returning"], [3], now=now)
        # the returning reader's expired cursor is gone at once; the other reader's waits
        assert snapshots.get(connection, ids["returning"], old["returning"], now=now) is None
        assert (
            connection.execute(
                select(func.count()).where(snapshots.feed_snapshots.c.id == old["gone"])
            ).scalar_one()
            == 1
        )
        while snapshots.save(connection, ids["returning"], [4], now=now) % snapshots.SWEEP_EVERY:
            pass  # until a sweep
        assert (
            connection.execute(
                select(func.count()).where(snapshots.feed_snapshots.c.id == old["gone"])
            ).scalar_one()
            == 0
        )
