"""The reader's own pages beyond the feed: topics to follow or mute, saved stories, and
settings (their sources, OPML in and out, the private feed link), with the matching API."""

from __future__ import annotations

import re
import socket

import httpx
import pytest
from fastapi.testclient import TestClient

from tidings.library import Tidings
from tidings.web import create_app

FEED = "data/feeds/heraldsun.rss"  # two items: quick to fetch and understand


@pytest.fixture(scope="module")
def store(web_store: Tidings) -> Tidings:
    return web_store


_n = iter(range(10**6))


class Reader:
    """A browser signed in as a new reader, with the CSRF token its pages carry."""

    def __init__(self, store: Tidings) -> None:
        self.name = f"settings reader {next(_n)}"
        self.browser = TestClient(create_app(store))
        form = self.browser.get("/signup").text  # the form's own token (double submit)
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        page = self.browser.post(
            "/signup", data={"name": self.name, "password": "correct horse", "csrf": token}
        )
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]

    def post(self, path: str, **data: object) -> httpx.Response:
        return self.browser.post(path, data={"csrf": self.csrf, **data})


def _alert(html: str) -> str:
    found = re.search(r'role="alert">([^<]+)<', html)
    assert found, "the page shows what went wrong"
    return found.group(1)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket closes


# -- topics -----------------------------------------------------------------------------------


def test_a_topic_page_lists_its_stories_and_follows_or_mutes_it(store: Tidings) -> None:
    reader = Reader(store)
    page = reader.browser.get("/topics/North Korea")
    assert page.status_code == 200
    assert "<h1>North Korea</h1>" in page.text and "China vows" in page.text
    followed = reader.post("/follow", topic="north-korea")
    assert "North Korea" in store.following(reader.name)["follows"]
    assert "Following ✓" in reader.browser.get("/topics/north-korea").text
    assert followed.status_code == 200
    reader.post("/mute", topic="north-korea")
    assert "North Korea" in store.following(reader.name)["mutes"]
    assert "Muted (unmute)" in reader.browser.get("/topics/north-korea").text
    assert "North Korea" in reader.browser.get("/hidden").text


def test_an_unknown_topic_is_a_404_naming_it(store: Tidings) -> None:
    page = Reader(store).browser.get("/topics/no-such-topic-anywhere")
    assert page.status_code == 404 and "no-such-topic-anywhere" in page.text
    api = TestClient(create_app(store)).get("/api/v1/topics/no-such-topic-anywhere")
    assert api.status_code == 422 and api.json()["error"]["fields"][0]["field"]


def test_the_api_gives_a_topic_with_its_newest_stories(store: Tidings) -> None:
    topic = TestClient(create_app(store)).get("/api/v1/topics/north-korea").json()
    assert topic["name"] == "North Korea"
    assert any(s["headline"].startswith("China vows") for s in topic["stories"])


# -- saved ------------------------------------------------------------------------------------


def test_a_saved_story_is_listed_on_the_saved_page_until_unsaved(store: Tidings) -> None:
    reader = Reader(store)
    story = store.feed(reader.name, limit=1, record=False).items[0]
    assert "Nothing saved yet" in reader.browser.get("/saved").text
    reader.post("/act", kind="save", story=story.story_id)
    saved = reader.browser.get("/saved").text
    assert f'data-story="{story.story_id}"' in saved and "Unsave" in saved
    headers = {"Authorization": f"Bearer {store.sign_in(reader.name, 'correct horse').token}"}
    api = reader.browser.get("/api/v1/saved", headers=headers).json()
    assert [s["id"] for s in api["items"]] == [story.story_id]
    reader.post("/act", kind="unsave", story=story.story_id)
    assert f'data-story="{story.story_id}"' not in reader.browser.get("/saved").text


# -- sources ----------------------------------------------------------------------------------


def test_a_feed_added_in_settings_is_fetched_followed_and_reaches_the_feed(
    store: Tidings, http_server: str
) -> None:
    reader = Reader(store)
    url = f"{http_server}/{FEED}"
    page = reader.post("/settings/sources", url=url)
    assert page.status_code == 200
    assert "Added RSS0.92 Example: " in page.text and url in page.text
    assert [s.url for s in store.subscriptions(reader.name)] == [url]
    assert "RSS0.92 Example" in store.following(reader.name)["follows"]
    # the background understand ran after the reply: its stories are in the reader's feed
    items = store.feed(reader.name, limit=10, record=False).items
    assert any(i.article.source == "RSS0.92 Example" for i in items)
    # another reader's sources are their own
    assert store.subscriptions(Reader(store).name) == []
    # the fetch counts as the first poll: settings show the source is fine at once
    (source,) = store.subscriptions(reader.name)
    assert source.health.status == "ok" and source.health.next_poll is not None
    # once polled, settings show how the source is doing
    for source in store.sources():  # its entries link to public sites: no full-text fetch
        store.set_full_text(str(source.id), "never")
    store.poll(everything=True, understand=False)
    health = reader.browser.get("/settings").text
    assert "health-ok" in health and "last new or unchanged" in health and "next poll" in health


def test_a_feed_url_that_does_not_answer_is_named_and_nothing_is_stored(store: Tidings) -> None:
    reader = Reader(store)
    sources_before, articles_before = len(store.sources()), store.article_count()
    url = f"http://127.0.0.1:{_closed_port()}/feed.xml"
    page = reader.post("/settings/sources", url=url)
    assert page.status_code == 422
    assert _alert(page.text).startswith(f"{url}: the feed did not answer")
    assert url in page.text  # the form keeps what was typed
    assert len(store.sources()) == sources_before and store.article_count() == articles_before
    assert store.subscriptions(reader.name) == []


def test_a_web_page_is_refused_as_a_source_with_a_hint(store: Tidings, http_server: str) -> None:
    reader = Reader(store)
    url = f"{http_server}/data/pages/html/abc13.com-Copperfield.html"
    page = reader.post("/settings/sources", url=url)
    assert page.status_code == 422
    assert "not a feed" in _alert(page.text)
    assert store.subscriptions(reader.name) == []


def test_opml_imports_a_readers_feeds_and_exports_them_back(
    store: Tidings, http_server: str
) -> None:
    reader = Reader(store)
    urls = [f"{http_server}/data/feeds/narro.rss", f"{http_server}/data/feeds/reddit.rss"]
    outlines = "".join(
        f'<outline type="rss" text="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(urls)
    )
    opml = f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'
    page = reader.browser.post(
        "/settings/opml",
        data={"csrf": reader.csrf},
        files={"opml": ("mine.opml", opml.encode(), "text/x-opml")},
    )
    assert page.status_code == 200
    assert _notice(page.text) == "mine.opml: 2 feeds, 2 new to your sources; fetching them now."
    assert [s.url for s in store.subscriptions(reader.name)] == urls
    # nothing was fetched by the request: the poller fetches both, then the reader
    # follows both outlets
    assert store.following(reader.name)["follows"] == []
    store.poll(understand=False)
    assert len(store.following(reader.name)["follows"]) == 2
    exported = reader.browser.get("/settings/opml")
    assert exported.headers["content-type"].startswith("text/x-opml")
    assert all(u in exported.text for u in urls)


def test_settings_files_a_source_in_a_folder_with_a_title_of_ones_own(
    store: Tidings, http_server: str
) -> None:
    reader = Reader(store)
    url = f"{http_server}/data/feeds/narro.rss"
    opml = f'<opml version="2.0"><body><outline text="n" xmlUrl="{url}"/></body></opml>'
    store.import_opml(opml.encode(), reader=reader.name)
    (source,) = store.subscriptions(reader.name)
    page = reader.post("/settings/sources/file", source=str(source.id), folder=" Tech ",
                       title="Narro picks")  # fmt: skip
    assert page.status_code == 200 and _notice(page.text) == "Narro picks is in Tech."
    assert "· in Tech" in page.text  # the list says where it is, as the apps show it
    (filed,) = store.filed_subscriptions(reader.name)
    assert (filed.title, filed.folder and filed.folder.name) == ("Narro picks", "Tech")
    page = reader.post("/settings/sources/file", source=str(source.id), folder="", title="")
    assert _notice(page.text) == f"{source.title or source.url} is in no folder."
    refused = reader.post("/settings/sources/file", source=str(source.id), folder="For you")
    assert refused.status_code == 422 and "ranked stream" in _alert(refused.text)
    other = reader.post("/settings/sources/file", source="999999", folder="Tech")
    assert other.status_code == 404


def test_a_file_that_is_not_opml_is_refused_by_name_and_nothing_is_stored(
    store: Tidings,
) -> None:
    reader = Reader(store)
    before = len(store.sources())
    page = reader.browser.post(
        "/settings/opml",
        data={"csrf": reader.csrf},
        files={"opml": ("notes.txt", b"just some notes, not a list of feeds", "text/plain")},
    )
    assert page.status_code == 422
    assert _alert(page.text).startswith("notes.txt: not OPML")
    assert len(store.sources()) == before and store.subscriptions(reader.name) == []


def test_sources_through_the_api_and_one_reader_cannot_remove_anothers(
    store: Tidings, http_server: str
) -> None:
    api = TestClient(create_app(store))
    tokens = []
    for _ in range(2):
        name = f"api sources {next(_n)}"
        answer = api.post("/api/v1/accounts", json={"name": name, "password": "correct horse"})
        tokens.append({"Authorization": f"Bearer {answer.json()['token']}"})
    api.cookies.clear()
    me, other = tokens
    url = f"{http_server}/{FEED}"
    added = api.post("/api/v1/sources", json={"url": url}, headers=me)
    assert added.status_code == 201 and added.json()["source"]["url"] == url
    source_id = added.json()["source"]["id"]
    assert [s["url"] for s in api.get("/api/v1/sources", headers=me).json()["items"]] == [url]
    assert api.get("/api/v1/sources", headers=other).json()["items"] == []
    refused = api.delete(f"/api/v1/sources/{source_id}", headers=other)
    assert refused.status_code == 404 and "not one of your sources" in refused.text
    unreachable = api.post(
        "/api/v1/sources", json={"url": f"http://127.0.0.1:{_closed_port()}/x"}, headers=me
    )
    assert unreachable.status_code == 422
    assert "did not answer" in unreachable.json()["error"]["fields"][0]["problem"]
    not_opml = api.post("/api/v1/sources/opml", content=b"<rss/>", headers=me)
    assert not_opml.status_code == 422 and "not OPML" in not_opml.json()["error"]["message"]
    assert api.delete(f"/api/v1/sources/{source_id}", headers=me).status_code == 200
    assert api.get("/api/v1/sources", headers=me).json()["items"] == []


def test_oversized_and_malformed_json_are_refused_naming_the_body(store: Tidings) -> None:
    api = TestClient(create_app(store))
    big = api.post("/api/v1/accounts", content=b"{" + b" " * 100_000 + b"}")
    assert big.status_code == 422
    assert big.json()["error"]["fields"][0]["field"] == "body"
    assert "too large" in big.json()["error"]["message"]
    broken = api.post(
        "/api/v1/accounts", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["fields"][0]["field"].startswith("body")


# -- the private feed link --------------------------------------------------------------------


def test_settings_show_the_private_feed_link_and_revoking_it_makes_a_new_one(
    store: Tidings,
) -> None:
    reader = Reader(store)
    link = re.search(r'id="feed-link"[^>]*value="([^"]+)"', reader.browser.get("/settings").text)
    assert link and "/feeds/" in link.group(1)
    old = link.group(1)
    assert reader.browser.get(old).status_code == 200
    page = reader.post("/settings/feed-link")
    new = re.search(r'id="feed-link"[^>]*value="([^"]+)"', page.text)
    assert new and new.group(1) != old
    assert reader.browser.get(old).status_code == 404
    assert reader.browser.get(new.group(1)).status_code == 200


def _notice(html: str) -> str:
    found = re.search(r'role="(?:status|alert)">([^<]+)<', html)
    return found.group(1) if found else "no notice"
