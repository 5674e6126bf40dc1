"""The Google Reader API (issue 15) driven the way NetNewsWire and Reeder sync: ClientLogin
with an app password, the ``T`` token, subscriptions and folders, unread ids paged by
continuation, contents fetched by id, edit-tag, then Reeder's stream reads, folder edits and
"mark all as read" — and ``user/-/label/For you``, the reader's ranked feed with its reasons.
Each test serves feeds of its own from a local HTTP server and subscribes a reader of its own,
on SQLite and PostgreSQL; what an app marks shows in the library (read state, the web app's
Saved list, the events the feed learns from). Every request goes through the real app: a 500
would raise here.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.httpd import Site
from tests.served_feeds import SUBJECTS, rss
from tidings.library import Tidings
from tidings.rank.signals import Kind
from tidings.store import events as event_store
from tidings.web import create_app

API = "/api/greader/reader/api/0"
LOGIN = "/api/greader/accounts/ClientLogin"
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
FOR_YOU = "user/-/label/For you"
LONG = "tag:google.com,2005:reader/item/"
_names = itertools.count()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with Site() as served:
        yield served


@pytest.fixture
def client(tidings: Tidings) -> TestClient:
    return TestClient(create_app(tidings))


@dataclass(frozen=True)
class Feed:
    """A feed served and subscribed to: its URL, source id and article ids, newest first
    (as a reading list comes: one fetch gives them one time, so the newer id first)."""

    url: str
    source_id: int
    ids: list[int]

    @property
    def stream(self) -> str:
        return f"feed/{self.url}"


def long_id(article_id: int) -> str:
    return f"{LONG}{article_id:016x}"


def in_path(stream_id: str) -> str:
    """A stream id as apps put it in a URL path: every reserved character escaped."""
    return quote(stream_id, safe="")


class App:
    """One reader's Google Reader app: it signs in with an app password (``Email`` is the
    reader's name), sends ``Authorization: GoogleLogin auth=…`` with every request and the
    ``T`` token with every POST, as NetNewsWire and Reeder do."""

    def __init__(
        self, store: Tidings, site: Site, client: TestClient, *, web_password: str | None = None
    ) -> None:
        self.store, self.site, self.client = store, site, client
        name = f"reader {next(_names)}"
        if web_password is None:
            self.name = store.add_reader(name).name
        else:
            self.name = store.sign_up(name, web_password).reader.name
        self.password_id = 0
        self.password = self.new_password()
        self.auth = self.token = ""
        self.use(self.password)

    def new_password(self) -> str:
        made, password = self.store.add_app_password(self.name, "NetNewsWire")
        self.password_id = made.id
        return password

    def use(self, password: str) -> None:
        """Sign in with ``password`` and go on with its token and ``T``, as a new app would."""
        self.auth = self.sign_in(password)
        self.token = self.get("/token").text.strip()

    def sign_in(self, password: str | None = None) -> str:
        """ClientLogin, and the ``Auth=`` line of its text answer."""
        answer = self.client.post(
            LOGIN, data={"Email": self.name, "Passwd": password or self.password}
        )
        assert answer.status_code == 200, answer.text
        lines = dict(line.split("=", 1) for line in answer.text.splitlines() if "=" in line)
        assert lines["SID"] == lines["Auth"]
        return lines["Auth"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"GoogleLogin auth={self.auth}"}

    def get(self, path: str, params: Any = None, *, status: int = 200) -> httpx.Response:
        answer = self.client.get(API + path, params=params, headers=self.headers)
        assert answer.status_code == status, answer.text
        return answer

    def post(
        self, path: str, data: dict[str, Any], *, status: int = 200, token: str | None = None
    ) -> httpx.Response:
        form = {**data, "T": token or self.token}
        answer = self.client.post(API + path, data=form, headers=self.headers)
        assert answer.status_code == status, answer.text
        return answer

    def json(self, path: str, **params: Any) -> dict[str, Any]:
        found: dict[str, Any] = self.get(path, {**params, "output": "json"}).json()
        return found

    # -- feeds ------------------------------------------------------------------------------

    def serve(self, count: int) -> str:
        """A new feed of ``count`` items, a subject of :data:`SUBJECTS` each in turn (so up
        to six distinct stories); its URL."""
        feed = f"f{next(_names)}"
        items = [
            (
                f"https://example.org/{feed}/{i}",
                f"{SUBJECTS[i % len(SUBJECTS)][0]} ({feed} {i})",
                SUBJECTS[i % len(SUBJECTS)][1],
            )
            for i in range(count)
        ]
        body = rss(f"Outlet {feed}", items)
        return self.site.serve(
            f"/{feed}.xml", body, headers={"Content-Type": "application/rss+xml"}
        )

    def subscribe(self, count: int) -> Feed:
        url = self.serve(count)
        source, result = self.store.subscribe(self.name, url)
        assert result.status == "ok" and result.added == count
        return Feed(source.url, source.id, sorted(result.articles, reverse=True))

    # -- what apps sync ---------------------------------------------------------------------

    def item_ids(self, stream: str, **params: Any) -> list[int]:
        """Every item id of a stream, page after page as the continuation says."""
        found: list[int] = []
        more: str | None = None
        while True:
            page = self.json(
                "/stream/items/ids", s=stream, **params, **({"c": more} if more else {})
            )
            found += [int(ref["id"]) for ref in page["itemRefs"]]
            more = page.get("continuation")
            if not more:
                return found

    def unread(self) -> list[int]:
        return self.item_ids(READING_LIST, n=1000, xt=READ)

    def starred(self) -> list[int]:
        return self.item_ids(STARRED, n=1000)

    def contents(self, ids: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.post("/stream/items/contents", {"i": ids}).json()[
            "items"
        ]
        return items

    def stream(self, stream: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        found: dict[str, Any] = self.get("/stream/contents/" + in_path(stream), params).json()
        return found

    def edit_tag(self, ids: list[int], *, add: str = "", remove: str = "") -> None:
        data: dict[str, Any] = {"i": [str(i) for i in ids]}
        if add:
            data["a"] = add
        if remove:
            data["r"] = remove
        assert self.post("/edit-tag", data).text == "OK"

    def events(self, kind: Kind) -> list[tuple[int | None, int | None]]:
        """(article, story) of this reader's logged events of ``kind``."""
        with self.store.engine.connect() as connection:
            reader = self.store.reader(self.name)
            logged = event_store.for_reader(connection, reader.id)
        return [(e.article_id, e.story_id) for e in logged if e.kind is kind]

    def impressions(self) -> dict[int, int]:
        """Per story, how often this reader was shown it."""
        with self.store.engine.connect() as connection:
            reader = self.store.reader(self.name)
            return event_store.seen(connection, reader.id, datetime(2000, 1, 1, tzinfo=UTC))


def item_id(item: dict[str, Any]) -> int:
    assert item["id"].startswith(LONG)
    return int(item["id"].removeprefix(LONG), 16)


# -- NetNewsWire: login, lists, unread ids in pages, contents by id, edit-tag ------------------


def test_netnewswire_signs_in_and_lists_subscriptions_and_tags(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    assert len(app.token) == 57 and app.auth.startswith(f"{tidings.reader(app.name).id}/")
    first, second = app.subscribe(2), app.subscribe(1)

    info = app.json("/user-info")
    assert info["userName"] == app.name and info["userId"] == str(tidings.reader(app.name).id)
    subscriptions = app.json("/subscription/list")["subscriptions"]
    assert [s["id"] for s in subscriptions] == [first.stream, second.stream]
    assert subscriptions[0]["url"] == first.url and subscriptions[0]["title"].startswith("Outlet")
    assert subscriptions[0]["categories"] == []
    tags = [t["id"] for t in app.json("/tag/list")["tags"]]
    assert tags == [STARRED, FOR_YOU]

    as_json = client.post(LOGIN, data={"Email": app.name, "Passwd": app.password, "output": "json"})
    assert as_json.status_code == 200 and as_json.json()["Auth"]


def test_netnewswire_pages_unread_ids_by_continuation(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    feed = app.subscribe(60)
    pages = []
    more: str | None = None
    while True:
        params = {"s": READING_LIST, "n": 25, "xt": READ, **({"c": more} if more else {})}
        page = app.json("/stream/items/ids", **params)
        pages.append([int(ref["id"]) for ref in page["itemRefs"]])
        more = page.get("continuation")
        if more is None:
            break
    assert [len(p) for p in pages] == [25, 25, 10]
    assert [i for p in pages for i in p] == feed.ids  # newest first, none twice, none missed
    ref = app.json("/stream/items/ids", s=READING_LIST, n=1)["itemRefs"][0]
    assert ref["id"] == str(feed.ids[0]) and int(ref["timestampUsec"]) > 0

    app.edit_tag(feed.ids[20:30], add=READ)  # read in the middle of what is paged
    unread = app.item_ids(READING_LIST, n=25, xt=READ)
    assert unread == feed.ids[:20] + feed.ids[30:]
    assert app.item_ids(READ, n=7) == feed.ids[20:30]


def test_a_thousand_ids_come_in_one_page_as_netnewswire_asks(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    first, second = app.subscribe(600), app.subscribe(401)  # one feed is read to 1,000 items
    every = second.ids + first.ids  # newest fetched first
    page = app.json("/stream/items/ids", s=READING_LIST, n=1000, xt=READ)
    assert [int(r["id"]) for r in page["itemRefs"]] == every[:1000]
    last = app.json("/stream/items/ids", s=READING_LIST, n=1000, xt=READ, c=page["continuation"])
    assert [int(r["id"]) for r in last["itemRefs"]] == every[1000:]
    assert "continuation" not in last


def test_netnewswire_fetches_contents_by_short_and_long_ids(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    feed = app.subscribe(4)
    asked = [str(feed.ids[2]), long_id(feed.ids[0]), str(feed.ids[3])]
    items = app.contents(asked)
    assert [item_id(i) for i in items] == [feed.ids[2], feed.ids[0], feed.ids[3]]  # as asked
    item = items[1]
    article = tidings.article(feed.ids[0])
    assert item["title"] == article.title and item["canonical"][0]["href"] == article.url
    assert item["origin"] == {"streamId": feed.stream, "title": article.source, "htmlUrl": ""}
    assert item["categories"] == [READING_LIST]
    assert item["summary"]["content"].startswith("<p>")
    assert item["published"] == int(datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp())
    assert int(item["timestampUsec"]) // 1000 == int(item["crawlTimeMsec"])
    by_get = app.get("/stream/items/contents", {"i": str(feed.ids[1])}).json()["items"]
    assert [item_id(i) for i in by_get] == [feed.ids[1]]


def test_read_and_starred_from_netnewswire_show_in_tidings(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    feed = app.subscribe(4)
    tidings.understand()  # articles form stories: a star saves one
    read, star = feed.ids[0], feed.ids[1]

    app.edit_tag([read], add=READ)
    assert app.unread() == feed.ids[1:]
    assert tidings.article_states(app.name, [read])[read].read
    assert tidings.unread_ids(app.name) == feed.ids[1:]
    assert app.events(Kind.OPEN) == [(read, tidings.article(read).story_id)]
    assert READ in app.contents([str(read)])[0]["categories"]

    app.edit_tag([star], add=STARRED)
    assert app.starred() == [star]
    assert [s.id for s in tidings.saved(app.name)] == [tidings.article(star).story_id]
    assert STARRED in app.contents([str(star)])[0]["categories"]

    app.edit_tag([read], remove=READ)  # "mark as unread"
    app.edit_tag([star], remove=STARRED)
    assert app.unread() == feed.ids and app.starred() == []
    assert tidings.saved(app.name) == []
    assert app.events(Kind.OPEN) == [(read, tidings.article(read).story_id)]  # no second open

    app.edit_tag(feed.ids, add="user/-/state/com.google/kept-unread")
    assert app.unread() == feed.ids
    app.edit_tag(feed.ids[:2], add=READ)
    app.edit_tag(feed.ids[:2], add="user/-/label/Tech")  # a label on an item: ignored
    assert app.unread() == feed.ids[2:]

    # and the other way: what the web app does shows in the app
    tidings.record(app.name, "open", article_id=feed.ids[2])
    tidings.record(app.name, "save", story_id=tidings.article(feed.ids[3]).story_id)
    assert app.unread() == feed.ids[3:]
    assert app.starred() == [tidings.story(tidings.article(feed.ids[3]).story_id).lead_article_id]


# -- Reeder: streams with contents, folders, counts, mark all as read -----------------------


def test_reeder_reads_streams_with_contents_newest_or_oldest_first(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    started = int(time.time()) - 5
    first, second = app.subscribe(3), app.subscribe(2)
    every = sorted(first.ids + second.ids, reverse=True)

    newest = app.stream(READING_LIST, {"n": 20})
    assert newest["id"] == READING_LIST and "continuation" not in newest
    assert [item_id(i) for i in newest["items"]] == every
    oldest = app.stream(READING_LIST, {"n": 2, "ot": started, "r": "o"})
    assert [item_id(i) for i in oldest["items"]] == every[::-1][:2]
    rest = app.stream(READING_LIST, {"n": 20, "ot": started, "r": "o", "c": oldest["continuation"]})
    assert [item_id(i) for i in rest["items"]] == every[::-1][2:]
    assert app.stream(READING_LIST, {"ot": int(time.time()) + 60})["items"] == []
    assert len(app.stream(READING_LIST, {"nt": int(time.time()) + 60})["items"]) == 5

    of_feed = app.stream(second.stream, {"n": 20})
    assert [item_id(i) for i in of_feed["items"]] == second.ids
    assert {i["origin"]["streamId"] for i in of_feed["items"]} == {second.stream}
    by_param = app.get("/stream/contents", {"s": first.stream}).json()
    assert [item_id(i) for i in by_param["items"]] == first.ids

    app.edit_tag(first.ids[:1], add=STARRED)
    starred = app.stream(STARRED, {"n": 20})
    assert [item_id(i) for i in starred["items"]] == first.ids[:1]
    unread_only = app.stream(READING_LIST, {"xt": READ, "it": STARRED})
    assert [item_id(i) for i in unread_only["items"]] == first.ids[:1]


def test_reeder_files_feeds_in_folders_and_reads_a_folders_stream(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    tech, news, other = app.subscribe(2), app.subscribe(3), app.subscribe(1)
    for feed, title in ((tech, "Tech daily"), (news, "")):
        edit = {"ac": "edit", "s": feed.stream, "a": "user/-/label/Tech"}
        assert (
            app.post("/subscription/edit", {**edit, **({"t": title} if title else {})}).text == "OK"
        )

    listed = {s["id"]: s for s in app.json("/subscription/list")["subscriptions"]}
    assert listed[tech.stream]["title"] == "Tech daily"
    assert listed[tech.stream]["categories"] == [{"id": "user/-/label/Tech", "label": "Tech"}]
    assert listed[other.stream]["categories"] == []
    tags = app.json("/tag/list")["tags"]
    assert {"id": "user/-/label/Tech", "type": "folder"} in tags

    folder = app.stream("user/-/label/Tech", {"n": 20})
    assert [item_id(i) for i in folder["items"]] == sorted(tech.ids + news.ids, reverse=True)
    item = folder["items"][-1]
    assert item["origin"]["title"] == "Tech daily"
    assert item["categories"] == [READING_LIST, "user/-/label/Tech"]
    ids = app.item_ids("user/-/label/Tech", n=2)
    assert ids == sorted(tech.ids + news.ids, reverse=True)

    counts = {c["id"]: c["count"] for c in app.json("/unread-count")["unreadcounts"]}
    assert counts == {
        tech.stream: 2, news.stream: 3, other.stream: 1, "user/-/label/Tech": 5, READING_LIST: 6,
    }  # fmt: skip

    app.post("/subscription/edit", {"ac": "edit", "s": news.stream, "r": "user/-/label/Tech"})
    assert app.item_ids("user/-/label/Tech") == tech.ids
    app.post("/subscription/edit", {"ac": "edit", "s": tech.stream, "t": ""})
    listed = {s["id"]: s for s in app.json("/subscription/list")["subscriptions"]}
    assert listed[tech.stream]["title"].startswith("Outlet")  # the feed's own title again


def test_reeder_renames_and_removes_folders(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    feed = app.subscribe(2)
    app.post("/subscription/edit", {"ac": "edit", "s": feed.stream, "a": "user/-/label/Tech"})

    renamed = {"s": "user/-/label/Tech", "dest": "user/-/label/Science"}
    assert app.post("/rename-tag", renamed).text == "OK"
    listed = app.json("/subscription/list")["subscriptions"]
    assert listed[0]["categories"] == [{"id": "user/-/label/Science", "label": "Science"}]
    assert app.item_ids("user/-/label/Science") == feed.ids
    app.get("/stream/contents/" + in_path("user/-/label/Tech"), status=404)

    assert app.post("/disable-tag", {"s": "user/-/label/Science"}).text == "OK"
    listed = app.json("/subscription/list")["subscriptions"]
    assert [s["id"] for s in listed] == [feed.stream] and listed[0]["categories"] == []
    assert [t["id"] for t in app.json("/tag/list")["tags"]] == [STARRED, FOR_YOU]
    app.post("/disable-tag", {"s": "user/-/label/Science"}, status=404)
    app.post("/rename-tag", {"s": "user/-/label/Gone", "dest": "user/-/label/X"}, status=404)

    # "For you" is the ranked stream's name: never a folder's
    app.post("/subscription/edit", {"ac": "edit", "s": feed.stream, "a": FOR_YOU}, status=400)
    app.post("/subscription/edit", {"ac": "edit", "s": feed.stream, "a": "user/-/label/Tech"})
    app.post("/rename-tag", {"s": "user/-/label/Tech", "dest": FOR_YOU}, status=400)
    tags = [t["id"] for t in app.json("/tag/list")["tags"]]
    assert tags == [STARRED, FOR_YOU, "user/-/label/Tech"]


def test_mark_all_as_read_stops_at_ts_for_one_feed_or_everything(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    first, second = app.subscribe(3), app.subscribe(2)
    every = sorted(first.ids + second.ids, reverse=True)
    before_any = 1_262_304_000 * 1_000_000  # 2010, in microseconds
    app.post("/mark-all-as-read", {"s": first.stream, "ts": before_any})
    assert app.unread() == every

    # Reeder sends the newest item's time it has shown: that item is read too.
    shown = app.stream(first.stream)["items"][0]["timestampUsec"]
    assert app.post("/mark-all-as-read", {"s": first.stream, "ts": shown}).text == "OK"
    assert app.unread() == second.ids
    assert tidings.unread_counts(app.name) == {first.source_id: 0, second.source_id: 2}

    app.post("/mark-all-as-read", {"s": READING_LIST, "ts": int(time.time() + 5) * 1_000_000})
    assert app.unread() == [] and tidings.unread_ids(app.name) == []
    counts = {c["id"]: c["count"] for c in app.json("/unread-count")["unreadcounts"]}
    assert counts[READING_LIST] == 0


def test_reeder_adds_and_removes_subscriptions(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    url = app.serve(3)
    added = app.post("/subscription/quickadd", {"quickadd": url}).json()
    assert added["numResults"] == 1 and added["streamId"] == f"feed/{url}"
    assert added["streamName"].startswith("Outlet")
    assert [s["url"] for s in app.json("/subscription/list")["subscriptions"]] == [url]
    assert len(app.unread()) == 3

    other = app.serve(2)
    subscribe = {"ac": "subscribe", "s": f"feed/{other}", "a": "user/-/label/New", "t": "Mine"}
    assert app.post("/subscription/edit", subscribe).text == "OK"
    listed = {s["url"]: s for s in app.json("/subscription/list")["subscriptions"]}
    assert listed[other]["title"] == "Mine"
    assert listed[other]["categories"] == [{"id": "user/-/label/New", "label": "New"}]

    app.post("/subscription/edit", {"ac": "unsubscribe", "s": f"feed/{url}"})
    assert [s["url"] for s in app.json("/subscription/list")["subscriptions"]] == [other]
    assert len(app.unread()) == 2
    app.get("/stream/contents/" + in_path(f"feed/{url}"), status=404)
    assert [s.url for s in tidings.subscriptions(app.name)] == [other]


# -- "For you": the ranked feed as a stream --------------------------------------------------


def test_for_you_is_the_ranked_feed_with_reasons_and_logs_what_it_shows(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    app.subscribe(6)
    app.subscribe(6)  # the same six stories from a second outlet
    tidings.understand()

    page = app.stream(FOR_YOU, {"n": 5})
    assert page["id"] == FOR_YOU and page["title"] == "For you"
    items = page["items"]
    assert len(items) == 5 and page["continuation"]
    stories = [tidings.article(item_id(i)).story_id for i in items]
    assert len(set(stories)) == 5  # one item per story
    for item in items:
        assert item["summary"]["content"].startswith("<p><em>")
        reason = item["summary"]["content"].removeprefix("<p><em>").split("</em></p>")[0]
        assert reason.strip()
        assert "user/-/label/For you" in item["categories"]
        assert READING_LIST in item["categories"]
    assert app.impressions() == dict.fromkeys(stories, 1)  # the feed knows they were seen

    fetched = app.contents([i["id"] for i in items])
    assert [i["id"] for i in fetched] == [i["id"] for i in items]
    more = app.stream(FOR_YOU, {"n": 5, "c": page["continuation"]})["items"]
    later = {tidings.article(item_id(i)).story_id for i in more}
    assert later and not later & set(stories)

    ids = app.json("/stream/items/ids", s=FOR_YOU, n=3)["itemRefs"]
    assert len(ids) == 3


def test_a_story_read_in_the_app_leaves_for_you_until_marked_unread(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    app.subscribe(6)
    tidings.understand()
    first = app.stream(FOR_YOU, {"n": 5})["items"]
    read = item_id(first[0])
    story = tidings.article(read).story_id

    app.edit_tag([read], add=READ)
    again = app.stream(FOR_YOU, {"n": 20})["items"]
    assert again and story not in {tidings.article(item_id(i)).story_id for i in again}
    assert [f.reason for f in tidings.filtered(app.name) if f.story_id == story] == ["read"]

    app.edit_tag([item_id(again[0])], add=STARRED)
    assert [s.id for s in tidings.saved(app.name)] == [tidings.article(item_id(again[0])).story_id]

    app.edit_tag([read], remove=READ)  # "mark as unread": the story comes back
    assert not [f for f in tidings.filtered(app.name) if f.story_id == story]
    back = tidings.feed(app.name, limit=50, record=False).items
    assert story in {i.story_id for i in back}


def test_for_you_items_of_feeds_not_subscribed_are_fetchable_once_shown(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    ann, bob = App(tidings, site, client), App(tidings, site, client)
    feed = ann.subscribe(3)
    tidings.understand()
    assert bob.contents([str(i) for i in feed.ids]) == []  # not Bob's, not shown to him

    shown = bob.stream(FOR_YOU, {"n": 10})["items"]
    assert {item_id(i) for i in shown} <= set(feed.ids) and shown
    assert all(READING_LIST not in i["categories"] for i in shown)  # not his subscription
    fetched = bob.contents([i["id"] for i in shown])
    assert [i["id"] for i in fetched] == [i["id"] for i in shown]
    assert bob.unread() == [] and ann.unread() == feed.ids


# -- guards ----------------------------------------------------------------------------------


def test_requests_without_a_valid_token_are_refused_with_401(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    feed = app.subscribe(1)
    for header in (
        {},
        {"Authorization": "GoogleLogin auth=nonsense"},
        {"Authorization": f"Bearer {app.auth}"},
        {"Authorization": "GoogleLogin"},
    ):
        for path in ("/token", "/subscription/list", f"/stream/items/ids?s={READING_LIST}"):
            answer = client.get(API + path, headers=header)
            assert answer.status_code == 401, (header, path)
        answer = client.post(API + "/edit-tag", data={"i": feed.ids[0], "a": READ}, headers=header)
        assert answer.status_code == 401
    assert app.unread() == feed.ids


def test_client_login_takes_app_passwords_only(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client, web_password="web password 1")
    for name, password in (
        (app.name, "web password 1"),
        (app.name, app.password + "x"),
        ("nobody", app.password),
        (app.name, ""),
    ):
        answer = client.post(LOGIN, data={"Email": name, "Passwd": password})
        assert answer.status_code == 401 and answer.text.strip() == "Error=BadAuthentication"
    assert client.post(LOGIN).status_code == 401


def test_a_revoked_app_password_signs_its_app_out(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    revoked = app.password_id
    other_password = app.new_password()
    other_auth = app.sign_in(other_password)  # a second app of the same reader
    tidings.revoke_app_password(app.name, revoked)
    app.get("/subscription/list", status=401)
    answer = client.post(LOGIN, data={"Email": app.name, "Passwd": app.password})
    assert answer.status_code == 401
    app.auth = other_auth  # the reader's other app goes on
    assert app.get("/token").text.strip() != app.token
    assert app.json("/subscription/list") == {"subscriptions": []}


def test_each_app_password_signs_in_as_its_own_reader(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    ann, bob = App(tidings, site, client), App(tidings, site, client)
    ann_feed, bob_feed = ann.subscribe(1), bob.subscribe(1)
    for _ in range(2):  # password ids and reader ids no longer agree
        ann.use(ann.new_password())
        assert ann.json("/user-info")["userName"] == ann.name
        assert [s["id"] for s in ann.json("/subscription/list")["subscriptions"]] == [
            ann_feed.stream
        ]
        assert ann.contents([str(bob_feed.ids[0])]) == []


def test_a_post_with_a_wrong_action_token_is_refused(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    feed = app.subscribe(2)
    wrong = "0" * 57
    answer = app.post("/edit-tag", {"i": feed.ids[0], "a": READ}, token=wrong, status=401)
    assert answer.headers["Google-Bad-Token"] == "true"
    app.post("/mark-all-as-read", {"s": READING_LIST}, token=wrong, status=401)
    assert app.unread() == feed.ids
    other = App(tidings, site, client)  # another sign-in's token is no good either
    app.post("/edit-tag", {"i": feed.ids[0], "a": READ}, token=other.token, status=401)
    assert app.unread() == feed.ids


def test_unknown_feeds_and_folders_are_404(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    feed = app.subscribe(1)
    stranger = App(tidings, site, client)
    for stream in ("feed/http://127.0.0.1:9/none.xml", "user/-/label/Nothing"):
        app.get("/stream/contents/" + in_path(stream), status=404)
        app.get("/stream/items/ids", {"s": stream}, status=404)
        app.post("/mark-all-as-read", {"s": stream}, status=404)
    stranger.get("/stream/contents/" + in_path(feed.stream), status=404)
    stranger.post("/subscription/edit", {"ac": "edit", "s": feed.stream, "t": "x"}, status=404)


# What each call is sent wrong, as (path, parameters): one app and store for them all.
MALFORMED_GETS = [
    ("/stream/items/ids", {"s": READING_LIST, "n": "many"}),
    ("/stream/items/ids", {"s": READING_LIST, "n": "0"}),
    ("/stream/items/ids", {"s": READING_LIST, "n": "-5"}),
    ("/stream/items/ids", {"s": READING_LIST, "n": "²"}),  # a digit to str.isdigit, not to int
    ("/stream/items/ids", {"s": READING_LIST, "ot": "yesterday"}),
    ("/stream/items/ids", {"s": READING_LIST, "ot": "³"}),
    ("/stream/items/ids", {"s": READING_LIST, "nt": "9" * 19}),
    ("/stream/items/ids", {"s": READING_LIST, "c": "next"}),
    ("/stream/items/ids", {"s": READING_LIST, "c": "1" * 18 + "-1"}),
    ("/stream/items/ids", {"s": READING_LIST, "r": "sideways"}),
    ("/stream/items/ids", {"s": READING_LIST, "xt": "user/-/label/Tech"}),
    ("/stream/items/ids", {"s": "everything"}),
    ("/stream/items/ids", {}),
    ("/stream/items/ids", {"s": FOR_YOU, "c": "next"}),
    ("/stream/items/ids", {"s": FOR_YOU, "n": "²"}),
    ("/stream/contents/" + in_path("user/-/state/com.google/sideways"), {}),
    ("/stream/contents/" + in_path(READING_LIST), {"n": "1e3"}),
    ("/stream/contents", {"s": "feed/"}),
    ("/stream/items/contents", {"i": "abc"}),
    ("/stream/items/contents", {"i": "0"}),
    ("/stream/items/contents", {"i": "١"}),
    ("/stream/items/contents", {"i": str(2**63)}),
    ("/stream/items/contents", {"i": LONG + "xyz"}),
    ("/stream/items/contents", {"i": LONG + "f" * 16}),
    ("/stream/items/contents", {}),
]
MALFORMED_POSTS = [
    ("/edit-tag", {"i": "1", "a": "user/-/state/com.google/sideways"}),
    ("/edit-tag", {"i": "one", "a": READ}),
    ("/edit-tag", {"a": READ}),
    ("/mark-all-as-read", {"s": STARRED}),
    ("/mark-all-as-read", {"s": FOR_YOU}),
    ("/mark-all-as-read", {"s": READING_LIST, "ts": "now"}),
    ("/mark-all-as-read", {"s": READING_LIST, "ts": "9" * 19}),
    ("/subscription/edit", {"ac": "explode", "s": "feed/http://127.0.0.1:9/x.xml"}),
    ("/subscription/edit", {"ac": "edit"}),
    ("/subscription/edit", {"ac": "subscribe", "s": "user/-/label/Tech"}),
    ("/subscription/edit", {"ac": "subscribe", "s": "feed/not a url"}),
    ("/subscription/quickadd", {"quickadd": ""}),
    ("/rename-tag", {"s": "user/-/label/Tech"}),
    ("/rename-tag", {"s": "Tech", "dest": "user/-/label/Science"}),
    ("/disable-tag", {"s": "Tech"}),
]


def test_malformed_parameters_answer_400_naming_them(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    for path, params in MALFORMED_GETS:
        answer = app.client.get(API + path, params=params, headers=app.headers)
        assert (answer.status_code, path, params) == (400, path, params), answer.text
        assert answer.text
    for path, data in MALFORMED_POSTS:
        answer = app.client.post(API + path, data={**data, "T": app.token}, headers=app.headers)
        assert (answer.status_code, path, data) == (400, path, data), answer.text
        assert answer.text


def test_a_body_that_is_no_form_is_400_naming_the_body(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    app = App(tidings, site, client)
    upload = app.client.post(API + "/edit-tag", files={"i": ("ids.txt", b"1")}, headers=app.headers)
    assert upload.status_code == 400 and upload.text.startswith("body:")
    crowd = "&".join(f"i={n}" for n in range(1, 3_000))
    too_many = app.client.post(
        API + "/stream/items/contents",
        content=crowd,
        headers={**app.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert too_many.status_code == 400 and too_many.text.startswith("body:")


def test_another_readers_app_sees_and_marks_nothing_of_the_first(
    tidings: Tidings, site: Site, client: TestClient
) -> None:
    ann, bob = App(tidings, site, client), App(tidings, site, client)
    feed = ann.subscribe(3)
    asked = [str(feed.ids[0]), long_id(feed.ids[1])]
    assert bob.contents(asked) == []
    assert bob.get("/stream/items/contents", {"i": asked}).json()["items"] == []
    assert bob.unread() == [] and bob.item_ids(READ) == [] and bob.starred() == []
    assert bob.stream(READING_LIST)["items"] == []
    assert bob.json("/subscription/list") == {"subscriptions": []}

    bob.edit_tag(feed.ids, add=READ)
    bob.edit_tag(feed.ids, add=STARRED)
    bob.post("/mark-all-as-read", {"s": READING_LIST})
    bob.post("/mark-all-as-read", {"s": feed.stream}, status=404)
    assert ann.unread() == feed.ids and ann.starred() == []
    assert bob.contents(asked) == [] and bob.starred() == []
    assert bob.events(Kind.OPEN) == [] and bob.events(Kind.SAVE) == []  # nothing to learn from
