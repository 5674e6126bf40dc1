"""The Fever API (issue 15, item 3) driven the way Reeder syncs: auth check, groups, feeds,
unread ids, items fetched by id in fifties and paged by ``since_id``, then marks. Each test
subscribes a reader of its own to feeds served from a local HTTP server, on SQLite and
PostgreSQL; a mark made through Fever shows in the library's read and saved state.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.httpd import Site
from tests.served_feeds import SUBJECTS, rss
from tidings.library import Tidings
from tidings.store.app_passwords import fever_key
from tidings.store.schema import events
from tidings.web import create_app

_names = itertools.count()
# Two of the shared subjects, and one whose text holds markup the items must escape.
ITEMS = [
    *SUBJECTS[:2],
    (SUBJECTS[2][0], SUBJECTS[2][1].removesuffix(".") + " <b>today</b>."),
]


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with Site() as served:
        yield served


class App:
    """One reader's Fever app against a store: its key, and requests as Reeder sends them."""

    def __init__(self, store: Tidings, site: Site, client: TestClient) -> None:
        self.store, self.site, self.client = store, site, client
        self.name = store.add_reader(f"reader {next(_names)}").name
        _, password = store.add_app_password(self.name, "Reeder")
        self.key = fever_key(self.name, password)

    def subscribe(self, count: int) -> tuple[int, list[int]]:
        """A new feed of ``count`` items, subscribed: its source id and article ids."""
        feed = f"f{next(_names)}"
        items = [
            (
                f"https://example.org/{feed}/{i}",
                f"{ITEMS[i % 3][0]} ({feed} {i})",
                escape(ITEMS[i % 3][1]),  # the text itself says "<b>", not bold
            )
            for i in range(count)
        ]
        body = rss(f"Outlet {feed}", items)
        url = self.site.serve(f"/{feed}.xml", body, headers={"Content-Type": "application/rss+xml"})
        source, result = self.store.subscribe(self.name, url)
        assert result.status == "ok" and result.added == count
        return source.id, sorted(result.articles)

    def call(self, query: str, *, key: str | None = None, status: int = 200) -> dict[str, Any]:
        answer = self.client.post(f"/api/fever/?api&{query}", data={"api_key": key or self.key})
        assert answer.status_code == status, answer.text
        return answer.json()

    def unread(self) -> list[int]:
        ids = self.call("unread_item_ids")["unread_item_ids"]
        return [int(i) for i in ids.split(",")] if ids else []

    def saved(self) -> list[int]:
        ids = self.call("saved_item_ids")["saved_item_ids"]
        return [int(i) for i in ids.split(",")] if ids else []


@pytest.fixture
def client(tidings: Tidings) -> TestClient:
    return TestClient(create_app(tidings))


def _app(tidings: Tidings, site: Site, client: TestClient) -> App:
    return App(tidings, site, client)


def test_reeder_syncs_groups_feeds_unread_ids_and_items_in_fifties(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = _app(tidings, site, client)
    first, first_ids = app.subscribe(60)
    second, second_ids = app.subscribe(3)
    every = sorted(first_ids + second_ids)

    hello = app.call("")
    assert hello["api_version"] == 3 and hello["auth"] == 1
    assert isinstance(hello["last_refreshed_on_time"], int)
    assert hello["last_refreshed_on_time"] > 0

    assert app.call("groups") == {**app.call(""), "groups": [], "feeds_groups": []}
    world = tidings.edit_subscription(app.name, second, folder="World").folder
    assert world is not None
    groups = app.call("groups")
    assert groups["groups"] == [{"id": world.id, "title": "World"}]
    assert groups["feeds_groups"] == [{"group_id": world.id, "feed_ids": str(second)}]
    feeds = app.call("feeds")["feeds"]
    assert [f["id"] for f in feeds] == [first, second]
    assert feeds[0]["title"].startswith("Outlet f") and feeds[0]["url"].endswith(".xml")
    assert {f["favicon_id"] for f in feeds} == {0} and {f["is_spark"] for f in feeds} == {0}
    assert app.call("favicons")["favicons"] == []

    unread = app.unread()
    assert unread == every
    fetched: list[dict[str, Any]] = []
    for start in range(0, len(unread), 50):
        chunk = unread[start : start + 50]
        page = app.call("items&with_ids=" + ",".join(map(str, chunk)))
        assert page["total_items"] == 63
        fetched += page["items"]
    assert [i["id"] for i in fetched] == every
    item = fetched[-1]
    assert item["feed_id"] == second and item["is_read"] == 0 and item["is_saved"] == 0
    assert item["url"].startswith("https://example.org/")
    assert item["created_on_time"] == int(datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp())
    chip = next(i for i in fetched if i["title"].startswith("Chip maker"))
    assert "&lt;b&gt;today&lt;/b&gt;" in chip["html"] and "<b>" not in chip["html"]
    assert chip["html"].startswith("<p>")

    paged: list[int] = []
    since = 0
    while True:
        items = app.call(f"items&since_id={since}")["items"]
        if not items:
            break
        assert len(items) <= 50
        paged += [i["id"] for i in items]
        since = items[-1]["id"]
    assert paged == every
    newest = app.call(f"items&max_id={every[-1]}")["items"]
    assert [i["id"] for i in newest] == every[-2::-1][:50]


def test_marks_from_the_app_show_in_tidings(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = _app(tidings, site, client)
    _, ids = app.subscribe(3)
    tidings.understand()
    read, star = ids[0], ids[1]

    app.call(f"mark=item&as=read&id={read}")
    assert read not in app.unread()
    assert tidings.article_states(app.name, [read])[read].read
    assert app.call(f"items&with_ids={read}")["items"][0]["is_read"] == 1
    app.call(f"mark=item&as=unread&id={read}")
    assert read in app.unread()

    app.call(f"mark=item&as=saved&id={star}")
    assert app.saved() == [star]
    assert [s.id for s in tidings.saved(app.name)] == [tidings.article(star).story_id]
    app.call(f"mark=item&as=unsaved&id={star}")
    assert app.saved() == [] and tidings.saved(app.name) == []


def test_marking_a_feed_or_everything_read_stops_at_before(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = _app(tidings, site, client)
    first, first_ids = app.subscribe(3)
    _, second_ids = app.subscribe(2)
    app.call(f"mark=feed&as=read&id={first}&before=946684800")  # 2000: before any fetch
    assert app.unread() == sorted(first_ids + second_ids)
    app.call(f"mark=feed&as=read&id={first}&before={int(time.time()) + 5}")
    assert app.unread() == second_ids
    app.call(f"mark=group&as=read&id=0&before={int(time.time()) + 5}")  # 0: every feed
    assert app.unread() == []


def test_a_folder_is_a_group_and_marking_it_reads_only_its_feeds(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = _app(tidings, site, client)
    first, _ = app.subscribe(2)
    second, second_ids = app.subscribe(2)
    tidings.edit_subscription(app.name, first, folder="Local", title="My paper")
    local = tidings.folders(app.name)[0]
    feeds = {f["id"]: f["title"] for f in app.call("feeds")["feeds"]}
    assert feeds[first] == "My paper" and feeds[second].startswith("Outlet f")
    app.call(f"mark=group&as=read&id={local.id}&before={int(time.time()) + 5}")
    assert app.unread() == second_ids


def test_hot_links_are_the_ranked_feed_with_its_reasons(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = _app(tidings, site, client)
    app.subscribe(6)
    tidings.understand()
    links = app.call("links")["links"]
    assert links, "a reader with understood articles has a ranked feed"
    feed = tidings.feed(app.name, record=False)
    assert [link["id"] for link in links] == [i.story_id for i in feed.items][: len(links)]
    first = links[0]
    headline, _, reason = first["title"].partition(" — ")
    assert headline == feed.items[0].headline and reason == feed.items[0].reason.text
    assert first["is_item"] == 1 and first["item_ids"] == str(first["item_id"])
    assert first["url"].startswith("https://example.org/")
    item = app.call(f"items&with_ids={first['item_id']}")["items"]
    assert [i["id"] for i in item] == [first["item_id"]]
    # what the app was answered counts as shown: the next ranking knows it was seen
    reader = tidings.reader(app.name)
    with tidings.engine.connect() as connection:
        shown = connection.execute(
            select(events.c.story_id).where(
                events.c.reader_id == reader.id, events.c.kind == "impression"
            )
        ).scalars()
        assert sorted(shown) == sorted(link["id"] for link in links)


def test_a_bad_or_missing_key_is_refused_with_auth_0(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = _app(tidings, site, client)
    app.subscribe(1)
    wrong = fever_key(app.name, "not the password")
    assert app.call("items", key=wrong, status=401) == {"api_version": 3, "auth": 0}
    answer = client.post("/api/fever/?api&items")
    assert answer.status_code == 401 and answer.json() == {"api_version": 3, "auth": 0}
    by_get = client.get(f"/api/fever?api&unread_item_ids&api_key={app.key}")
    assert by_get.status_code == 200 and by_get.json()["auth"] == 1


def test_another_readers_app_sees_and_marks_nothing_of_the_first(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    ann, bob = _app(tidings, site, client), _app(tidings, site, client)
    feed, ids = ann.subscribe(3)
    assert bob.unread() == [] and bob.call("feeds")["feeds"] == []
    assert bob.call("items&with_ids=" + ",".join(map(str, ids)))["items"] == []
    assert bob.call("items&since_id=0")["items"] == []
    bob.call(f"mark=item&as=read&id={ids[0]}")
    bob.call(f"mark=item&as=saved&id={ids[1]}")
    bob.call(f"mark=feed&as=read&id={feed}&before={int(time.time()) + 5}")
    assert ann.unread() == ids and ann.saved() == [] and bob.saved() == []
    assert not tidings.article_states(bob.name, [ids[0]])[ids[0]].read


@pytest.mark.parametrize(
    "query",
    [
        "mark=item&as=read&id=abc",
        "items&since_id=-1e9",
        "items&max_id=1.5",
        "items&with_ids=x",
        "mark=item&as=sideways&id=1",
        "mark=feed&as=read&id=1&before=yesterday",
        "mark=shelf&as=read&id=1",
        "mark=item&as=read",
    ],
)
def test_malformed_parameters_answer_400_never_500(
    tidings: Tidings, site: Site, client: TestClient, query: str
) -> None:
    app = _app(tidings, site, client)
    answer = app.call(query, status=400)
    assert answer["api_version"] == 3 and answer["auth"] == 1 and answer["error"]
