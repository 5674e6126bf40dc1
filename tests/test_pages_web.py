"""The pages as a reader meets them, served by the app over a small store built here (no
``../shared`` needed): cards with relative times and placeholders, articles that link to
their outlet with the licence of their text, "Hidden and why" grouped, error pages, the
favicon."""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tidings.library import Tidings
from tidings.web import create_app

from .conftest import understood_store

WALL = " ".join(
    f"Sentence {n} of the budget report adds one more detail about spending and taxes."
    for n in range(30)
)
ARTICLES = [
    {
        "id": "enwikinews-1",
        "title": "Parliament passes the budget after a three-day debate",
        "url": "https://en.wikinews.org/wiki/Parliament_passes_the_budget",
        "published": "2014-03-12T10:00:00Z",
        "source": "Wikinews",
        "text": f"Parliament passed the budget on Tuesday after a debate of three days. {WALL}",
        "key_points": [
            "Parliament passed the budget on Tuesday after a debate of three days.",
            "The opposition promised to repeal the new fuel tax.",
        ],
        "categories": ["Politics"],
    },
    {
        "title": "Storm floods coastal towns as rivers burst their banks",
        "url": "https://coast.example/storm",
        "published": "2014-03-12T07:00:00Z",
        "source": "Coast Herald",
        "text": "Rivers burst their banks overnight.\n\nHundreds of homes were flooded.",
        "image": "https://coast.example/storm.jpg",
        "categories": ["Weather"],
    },
    {
        "id": "uci-news-aggregator:42",
        "title": "Markets rally as technology shares climb for a third day",
        "url": "https://markets.example/rally",
        "published": "2014-03-10T09:30:00Z",
        "source": "Markets Daily",
        "categories": ["Business"],
    },
]
UNDATED = {
    "title": "Village fete returns with a tug of war",
    "url": "https://village.example/fete",
    "source": "Village Voice",
    "text": "The fete is back after five years, with a tug of war and a cake stall.",
    "categories": ["Community"],
}
PASSWORD = "correct horse battery"
_names = itertools.count()


def _store(folder: Path, rows: list[dict]) -> Iterator[Tidings]:
    path = folder / "articles.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with understood_store("sqlite", folder, [path]) as tidings:
        yield tidings


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tidings]:
    yield from _store(tmp_path_factory.mktemp("pages"), ARTICLES)


@pytest.fixture(scope="module")
def undated_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tidings]:
    yield from _store(tmp_path_factory.mktemp("undated"), [ARTICLES[1], UNDATED])


class Browser:
    """A signed-in reader's browser: it keeps cookies and asks for pages as HTML."""

    def __init__(self, store: Tidings) -> None:
        self.name = f"pages reader {next(_names)}"
        self.client = TestClient(create_app(store), headers={"Accept": "text/html"})
        form = self.client.get("/signup").text
        page = self.client.post(
            "/signup", data={"name": self.name, "password": PASSWORD, "csrf": _csrf(form)}
        )
        self.csrf = _csrf(page.text)

    def get(self, path: str) -> str:
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.text

    def post(self, path: str, referer: str = "/", **data: object) -> str:
        answer = self.client.post(
            path, data={"csrf": self.csrf, **data}, headers={"referer": referer}
        )
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        return answer.text


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def _card(feed: str, title: str) -> str:
    """The markup of the card whose headline is ``title``."""
    for card in re.findall(r'<li class="card".*?</li>\s*(?=<li class="card"|</ol>)', feed, re.S):
        if html.escape(title) in card or title in card:
            return card
    raise AssertionError(f"no card for {title!r}")


def _article_id(store: Tidings, title: str) -> int:
    return next(a.id for a in store.articles(limit=50) if a.title == title)


# -- cards ------------------------------------------------------------------------------------


def test_cards_say_how_long_ago_relative_to_the_newest_story_with_the_date_on_hover(
    store: Tidings,
) -> None:
    feed = Browser(store).get("/")
    storm = _card(feed, ARTICLES[1]["title"])
    # the store is an archive: "now" is its newest story (10:00 on 12 March 2014)
    assert re.search(
        r'<time datetime="2014-03-12T07:00:00\+00:00" '
        r'title="Wednesday 12 March 2014, 07:00 UTC">3 h ago</time>',
        storm,
    ), storm
    rally = _card(feed, ARTICLES[2]["title"])
    assert ">2 d ago</time>" in rally


def test_a_card_shows_its_source_initial_and_a_placeholder_when_it_has_no_picture(
    store: Tidings,
) -> None:
    feed = Browser(store).get("/")
    storm = _card(feed, ARTICLES[1]["title"])
    assert re.search(r'class="badge badge-\d" aria-hidden="true">C</span>', storm)
    assert '<span class="source">Coast Herald</span>' in storm
    assert '<img class="thumb" src="https://coast.example/storm.jpg" alt=""' in storm
    budget = _card(feed, ARTICLES[0]["title"])
    assert 'class="thumb-box" data-initial="W"' in budget and "<img" not in budget


def test_a_headline_only_card_links_out_to_its_outlet(store: Tidings) -> None:
    feed = Browser(store).get("/")
    rally = _card(feed, ARTICLES[2]["title"])
    article = _article_id(store, ARTICLES[2]["title"])
    assert 'href="https://markets.example/rally" class="out"' in rally
    assert f'data-open-url="/articles/{article}/open"' in rally  # opening it still counts
    assert "Headline only: read it at Markets Daily." in rally


def test_an_undated_item_says_undated_on_its_card_and_its_page(undated_store: Tidings) -> None:
    reader = Browser(undated_store)
    fete = _card(reader.get("/"), UNDATED["title"])
    assert '<span class="undated" title="The source gave no date">undated</span>' in fete
    assert "<time" not in fete
    page = reader.get(f"/articles/{_article_id(undated_store, UNDATED['title'])}")
    assert ">undated</span>" in page


# -- the article page -------------------------------------------------------------------------


def test_an_article_links_to_its_outlet_and_names_the_licence_of_its_text(
    store: Tidings,
) -> None:
    page = Browser(store).get(f"/articles/{_article_id(store, ARTICLES[0]['title'])}")
    assert (
        '<a class="button primary" href="https://en.wikinews.org/wiki/Parliament_passes_the_budget"'
        ' rel="noopener">Read at Wikinews →</a>'
    ) in page
    assert "Text: Wikinews contributors, CC BY 2.5 (modified) — " in page
    assert '<a href="https://creativecommons.org/licenses/by/2.5/" rel="license noopener">' in page


def test_an_article_body_is_in_paragraphs_and_its_key_points_do_not_repeat_the_first(
    store: Tidings,
) -> None:
    page = Browser(store).get(f"/articles/{_article_id(store, ARTICLES[0]['title'])}")
    body = re.search(r'<div class="body">(.*?)</div>', page, re.S)
    assert body and body.group(1).count("<p>") >= 4  # the wall of text, cut at sentence ends
    points = re.search(r'<ul class="points"[^>]*>(.*?)</ul>', page, re.S)
    assert points, "the key point the text does not say is shown"
    assert "repeal the new fuel tax" in points.group(1)
    assert "after a debate of three days" not in points.group(1)  # the first paragraph's


def test_a_headline_only_article_points_to_the_outlet_with_its_licence(store: Tidings) -> None:
    page = Browser(store).get(f"/articles/{_article_id(store, ARTICLES[2]['title'])}")
    assert "Only the headline is stored here: the story itself is at Markets Daily." in page
    assert 'href="https://markets.example/rally" rel="noopener">Read at Markets Daily →</a>' in page
    assert "UCI News Aggregator data set" in page and "licenses/by/4.0/" in page


def test_a_summary_only_article_says_the_whole_story_is_at_the_outlet(
    undated_store: Tidings,
) -> None:
    page = Browser(undated_store).get(f"/articles/{_article_id(undated_store, UNDATED['title'])}")
    assert "This is the outlet's summary; the whole article is at Village Voice." in page
    assert ">Read at Village Voice →</a>" in page
    assert 'class="licence"' not in page  # tidings does not know this text's licence


# -- hidden and why ---------------------------------------------------------------------------


def _groups(page: str) -> list[str]:
    return re.findall(r'<section class="hidden-group".*?</section>', page, re.S)


def test_hidden_and_why_groups_stories_by_reason_with_one_undo_each(store: Tidings) -> None:
    reader = Browser(store)
    items = store.feed(reader.name, limit=10, record=False).items
    for item in items[:2]:
        reader.post("/act", kind="hide", story=item.story_id)
    reader.post("/mute", topic="Business")
    page = reader.get("/hidden")
    groups = _groups(page)
    assert len(groups) == 2, groups
    hid, muted = groups
    assert 'You hid these stories <span class="count">— 2 stories</span>' in hid
    assert hid.count("<button") == 1 and "Show all 2 again" in hid
    assert all(f'href="/stories/{i.story_id}"' in hid for i in items[:2])
    assert "Muted topic: Business" in muted and muted.count("<button") == 1
    assert '<input type="hidden" name="topic" value="business">' in muted

    after = reader.post("/hidden/unhide", referer="/hidden")
    assert "2 stories are back in your feed." in after
    assert "You hid these" not in after
    feed_ids = {i.story_id for i in store.feed(reader.name, limit=10, record=False).items}
    assert {i.story_id for i in items[:2]} <= feed_ids
    unmuted = reader.post("/unmute", referer="/hidden", topic="business")
    assert "Unmuted Business: its stories come back." in unmuted and not _groups(unmuted)


def test_muting_a_followed_topic_says_the_follow_was_dropped(store: Tidings) -> None:
    reader = Browser(store)
    reader.post("/follow", topic="Weather")
    feed = reader.post("/mute", topic="Weather")
    assert re.search(r'class="notice flash" role="status">[^<]*Weather[^<]*follow', feed), feed
    assert "Weather" not in store.following(reader.name)["follows"]
    assert "flash" not in reader.get("/")  # said once


# -- errors and the favicon -------------------------------------------------------------------


def test_a_missing_page_is_a_styled_404_for_a_browser_and_json_for_the_api(
    store: Tidings,
) -> None:
    browser = TestClient(create_app(store), headers={"Accept": "text/html,*/*;q=0.8"})
    page = browser.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<h1 id="error-title">Page not found</h1>' in page.text
    assert '<a class="button" href="/">' in page.text  # a way back
    assert '<link rel="stylesheet" href="/static/tidings.css">' in page.text
    story = browser.get("/stories/99999999")
    assert story.status_code == 404 and "no story with id 99999999" in story.text
    bad = browser.get("/stories/not-a-number")
    assert bad.status_code == 422 and "<code>path.story_id</code>" in bad.text

    api = browser.get("/api/v1/stories/99999999")  # the API stays JSON whatever is accepted
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    script = TestClient(create_app(store)).get("/no/such/page")  # no HTML asked for
    assert script.status_code == 404 and script.json()["error"]["status"] == 404


def test_the_favicon_is_served_and_every_page_links_it(store: Tidings) -> None:
    client = TestClient(create_app(store))
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert (
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        in client.get("/signin").text
    )
