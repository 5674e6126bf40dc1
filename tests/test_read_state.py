"""Read and starred state per reader and article (issue 15, item 4): what native RSS apps
sync. A reader's subscribed articles start unread; marks, stars and "mark all as read"
show in every view of that state, agree with the web app (opens, saves), and are theirs
alone. Each test serves feeds of its own from a local HTTP server and subscribes to them,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.httpd import Site
from tests.served_feeds import SUBJECTS, rss
from tidings.errors import NotFound
from tidings.library import Tidings
from tidings.rank.signals import Kind
from tidings.store import events as event_store

from .conftest import BACKENDS, fresh_database

_names = itertools.count()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with Site() as served:
        yield served


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tidings]:
    """One store per backend; each test has readers and feeds of its own."""
    folder = tmp_path_factory.mktemp("read_state")
    with fresh_database(request.param, folder) as url, Tidings(url) as tidings:
        yield tidings


class Feeds:
    """Feeds of one test: served under a prefix of its own, subscribed to by a reader."""

    def __init__(self, store: Tidings, site: Site) -> None:
        self.store, self.site = store, site
        self.prefix = f"/t{next(_names)}"

    def reader(self) -> str:
        return self.store.add_reader(f"reader {next(_names)}").name

    def serve(self, name: str, count: int, *, first: int = 0) -> str:
        """Serve feed ``name`` with ``count`` items (from item ``first`` on); its URL."""
        items = [
            (
                f"https://example.org{self.prefix}/{name}/{i}",
                f"{SUBJECTS[i % len(SUBJECTS)][0]} ({name} {i}{self.prefix})",
                SUBJECTS[i % len(SUBJECTS)][1],
            )
            for i in range(first, first + count)
        ]
        body = rss(f"Outlet {name}{self.prefix}", items)
        return self.site.serve(
            f"{self.prefix}/{name}.xml", body, headers={"Content-Type": "application/rss+xml"}
        )

    def subscribe(self, reader: str, name: str, count: int) -> tuple[int, list[int]]:
        """Subscribe ``reader`` to a new feed of ``count`` items: its source id and the
        article ids, newest fetched first (as unread lists come)."""
        url = self.serve(name, count)
        source, result = self.store.subscribe(reader, url)
        assert result.status == "ok" and result.added == count
        ids = sorted(result.articles, reverse=True)
        return source.id, ids


@pytest.fixture
def feeds(store: Tidings, site: Site) -> Feeds:
    return Feeds(store, site)


def test_a_new_subscription_is_all_unread_and_nothing_starred(feeds: Feeds) -> None:
    store, reader = feeds.store, feeds.reader()
    source, ids = feeds.subscribe(reader, "a", 4)
    assert store.unread_ids(reader) == ids
    assert store.unread_counts(reader) == {source: 4}
    assert store.starred_ids(reader) == []
    states = store.article_states(reader, ids)
    assert all(not s.read and not s.starred for s in states.values())


def test_marks_and_stars_show_in_states_unread_lists_counts_and_starred(feeds: Feeds) -> None:
    store, reader = feeds.store, feeds.reader()
    source, ids = feeds.subscribe(reader, "a", 5)
    assert store.mark_read(reader, ids[:2]) == 2
    assert store.mark_read(reader, ids[:2]) == 0  # already read: nothing changes
    assert store.star(reader, [ids[3], ids[1]]) == 2
    states = store.article_states(reader, ids)
    assert [states[i].read for i in ids] == [True, True, False, False, False]
    assert [states[i].starred for i in ids] == [False, True, False, True, False]
    assert store.unread_ids(reader) == ids[2:]
    assert store.unread_ids(reader, source=source, limit=2) == ids[2:4]
    assert store.unread_ids(reader, before_id=ids[2]) == ids[3:]  # the next page
    assert store.unread_counts(reader) == {source: 3}
    assert set(store.starred_ids(reader)) == {ids[1], ids[3]}
    # and back
    assert store.mark_read(reader, [ids[0]], read=False) == 1
    assert store.star(reader, [ids[1]], starred=False) == 1
    assert store.unread_ids(reader) == [ids[0], *ids[2:]]
    assert store.starred_ids(reader) == [ids[3]]


def test_unknown_article_ids_are_ignored_and_not_counted(feeds: Feeds) -> None:
    store, reader = feeds.store, feeds.reader()
    _, ids = feeds.subscribe(reader, "a", 2)
    assert store.mark_read(reader, [ids[0], 987_654_321]) == 1
    assert store.star(reader, [987_654_321]) == 0
    assert store.article_states(reader, [987_654_321])[987_654_321].read is False


def test_mark_all_read_reads_what_was_fetched_before_the_cut_off_and_a_later_unread_holds(
    feeds: Feeds,
) -> None:
    store, reader = feeds.store, feeds.reader()
    source, old = feeds.subscribe(reader, "a", 3)
    cut = datetime.now(UTC)
    url = feeds.serve("a", 2, first=3)  # two new items arrive after the cut-off
    (later,) = store.ingest([url])
    new = sorted(later.articles, reverse=True)
    assert len(new) == 2
    store.mark_all_read(reader, before=cut)
    assert store.unread_ids(reader) == new
    assert store.unread_counts(reader) == {source: 2}
    # an article kept unread after the mark-all stays unread; an older cut-off undoes nothing
    assert store.mark_read(reader, [old[0]], read=False) == 1
    store.mark_all_read(reader, before=cut - timedelta(days=1))
    assert store.unread_ids(reader) == [*new, old[0]]
    # a time in the future is now: everything so far is read, the kept-unread one too
    store.mark_all_read(reader, before=datetime.now(UTC) + timedelta(days=365))
    assert store.unread_ids(reader) == []
    assert all(s.read for s in store.article_states(reader, old + new).values())


def test_mark_all_read_of_one_source_leaves_the_others_unread(feeds: Feeds) -> None:
    store, reader = feeds.store, feeds.reader()
    a, _ = feeds.subscribe(reader, "a", 2)
    b, b_ids = feeds.subscribe(reader, "b", 3)
    store.mark_all_read(reader, source=a)
    assert store.unread_counts(reader) == {a: 0, b: 3}
    assert store.unread_ids(reader) == b_ids
    store.mark_all_read(reader, source=feeds.site.url + f"{feeds.prefix}/b.xml")  # by URL
    assert store.unread_counts(reader) == {a: 0, b: 0}
    with pytest.raises(NotFound, match=re.escape("no source 'https://nowhere.example/feed'")):
        store.mark_all_read(reader, source="https://nowhere.example/feed")


def test_one_readers_marks_never_show_for_another(feeds: Feeds) -> None:
    store, reader, other = feeds.store, feeds.reader(), feeds.reader()
    source, ids = feeds.subscribe(reader, "a", 3)
    store.subscribe(other, feeds.site.url + f"{feeds.prefix}/a.xml")
    store.mark_read(reader, ids[:1])
    store.star(reader, ids[:2])
    store.mark_all_read(reader, source=source)
    assert store.unread_ids(reader) == []
    assert store.unread_ids(other) == ids
    assert store.starred_ids(other) == []
    assert store.unread_counts(other) == {source: 3}
    assert not any(s.read or s.starred for s in store.article_states(other, ids).values())


def test_marking_read_is_one_open_and_keeps_the_story_out_of_the_feed(feeds: Feeds) -> None:
    store, reader = feeds.store, feeds.reader()
    _, ids = feeds.subscribe(reader, "a", 3)
    store.understand()
    story = store.article(ids[0]).story_id
    assert story in {item.story_id for item in store.feed(reader, limit=100, record=False).items}
    store.mark_read(reader, [ids[0]])
    store.mark_read(reader, [ids[0]])  # again: no second open
    with store.engine.connect() as connection:
        who = store.reader(reader)
        opens = [e for e in event_store.for_reader(connection, who.id) if e.kind is Kind.OPEN]
    assert [(e.article_id, e.story_id) for e in opens] == [(ids[0], story)]
    feed = store.feed(reader, limit=100, record=False)
    assert story not in {item.story_id for item in feed.items}
    assert [f.reason for f in store.filtered(reader) if f.story_id == story] == ["read"]


def test_starring_saves_the_story_and_the_web_apps_save_and_open_mark_the_article(
    feeds: Feeds,
) -> None:
    store, reader = feeds.store, feeds.reader()
    _, ids = feeds.subscribe(reader, "a", 3)
    store.understand()
    first, second = store.article(ids[0]), store.article(ids[1])
    store.star(reader, [first.id])
    assert [s.id for s in store.saved(reader)] == [first.story_id]
    store.star(reader, [first.id], starred=False)
    assert store.saved(reader) == []
    # the web app: opening reads the article, saving a story stars its lead, unsaving unstars
    store.record(reader, "open", article_id=second.id)
    assert store.article_states(reader, [second.id])[second.id].read
    assert store.unread_ids(reader) == [ids[0], ids[2]]
    store.record(reader, "save", story_id=second.story_id)
    lead = store.story(second.story_id).lead_article_id
    assert store.starred_ids(reader) == [lead]
    store.record(reader, "unsave", story_id=second.story_id)
    assert store.starred_ids(reader) == []


def test_three_thousand_ids_in_one_call_are_marked(feeds: Feeds) -> None:
    store, reader = feeds.store, feeds.reader()
    source, ids = feeds.subscribe(reader, "a", 5)
    asked = ids + list(range(10_000_000, 10_003_000))  # thousands, unknown ones among them
    assert store.mark_read(reader, asked) == 5
    assert store.star(reader, asked) == 5
    states = store.article_states(reader, asked)
    assert len(states) == len(asked)
    assert all(states[i].read and states[i].starred for i in ids)
    assert store.unread_counts(reader) == {source: 0}
    assert len(store.starred_ids(reader)) == 5


def test_a_migrated_store_holds_the_read_state_tables(tmp_path: Path) -> None:
    with Tidings(f"sqlite:///{tmp_path / 'x.db'}") as store:
        reader = store.add_reader("solo").name
        assert store.unread_ids(reader) == [] and store.unread_counts(reader) == {}
