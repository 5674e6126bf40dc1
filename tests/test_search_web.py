"""Search on the site and in the API (issue 14): the box on every page, the results page
with the matched words marked, following a search and reading it as Atom, and the JSON
API's answers — pages of hits without repeats, and a 422 with a message, never a 500, for
whatever is typed. On SQLite and PostgreSQL, over the seed page, the Guardian's feed and a
few articles written here (one whose stored text looks like markup)."""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest
from fastapi.testclient import TestClient

from tidings.library import Tidings
from tidings.web import create_app
from tidings.web.atom import spans

from .conftest import BACKENDS, SEED, understood_store

ARTICLES = [
    {
        "title": 'Railway <b>strike</b> & "chaos" <script>alert(1)</script> as workers walk out',
        "url": "https://rail.example/strike",
        "published": "2018-01-31T08:00:00Z",
        "source": "Rail Gazette",
        "text": "Signal workers walked out on Wednesday <img src=x onerror=alert(1)> and the "
        "railway stopped. The railway union said the strike over pay would last two days.",
        "categories": ["Transport"],
    },
    {
        "title": "Ferry services cancelled as the storm reaches the islands",
        "url": "https://coast.example/ferry",
        "published": "2018-01-31T09:00:00Z",
        "source": "Coast Herald",
        "text": "Every ferry to the islands was cancelled as the storm arrived. Harbour "
        "staff said the ferries would sail again on Friday.",
        "categories": ["Weather"],
    },
]
PASSWORD = "correct horse battery"
BROAD = "Trump people year world women government"  # more than one page of the Guardian's
_names = itertools.count()


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, shared: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tidings]:
    folder = tmp_path_factory.mktemp("search-web")
    extra = folder / "articles.jsonl"
    extra.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    inputs = [shared / SEED, shared / "data/feeds/guardian.rss", extra]
    with understood_store(request.param, folder, inputs) as tidings:
        yield tidings


@pytest.fixture(scope="module")
def client(store: Tidings) -> TestClient:
    return TestClient(create_app(store))


class Browser:
    """A signed-in reader's browser: it keeps cookies and asks for pages as HTML."""

    def __init__(self, store: Tidings) -> None:
        self.name = f"search reader {next(_names)}"
        self.client = TestClient(create_app(store), headers={"Accept": "text/html"})
        form = self.client.get("/signup").text
        page = self.client.post(
            "/signup", data={"name": self.name, "password": PASSWORD, "csrf": _csrf(form)}
        )
        self.csrf = _csrf(page.text)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params)

    def post(self, path: str, referer: str = "/", **data: str) -> httpx.Response:
        return self.client.post(
            path, data={"csrf": self.csrf, **data}, headers={"referer": referer}
        )


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def _results(page: str) -> list[str]:
    """The markup of each result row, in order."""
    return re.findall(r'<li class="result".*?</li>', page, re.S)


def _api_sign_up(client: TestClient) -> dict[str, str]:
    name = f"search api reader {next(_names)}"
    answer = client.post("/api/v1/accounts", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    client.cookies.clear()  # these calls authenticate by bearer token, as an app would
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- the page ---------------------------------------------------------------------------------


def test_every_page_has_a_search_box_that_asks_for_stories(client: TestClient) -> None:
    for path in ("/signin", "/search", "/stories/99999999"):
        page = client.get(path, headers={"Accept": "text/html"}).text
        box = re.search(r'<form class="search-box" role="search" method="get" action="/search">'
                        r'\s*<input type="search" name="q"([^>]*)>', page)  # fmt: skip
        assert box, path
        assert 'aria-label="Search stories"' in box.group(1)
        assert 'placeholder="Search stories"' in box.group(1)


def test_the_results_page_shows_the_seed_story_with_the_matched_words_marked(
    client: TestClient,
) -> None:
    answer = client.get("/search", params={"q": "China North Korea stability"})
    assert answer.status_code == 200
    rows = _results(answer.text)
    seed = next(r for r in rows if "China vows to work with North Korea" in r)
    marked = re.findall(r"<mark>(.*?)</mark>", seed)
    assert marked, seed
    assert {m.casefold() for m in marked} <= {"china", "north", "korea", "stability", "chinese"}
    assert re.search(r'<h2><a href="/(stories|articles)/\d+">China vows', seed)
    assert re.search(r'class="outlets" href="[^"]+">\d+ outlets?</a>', seed)
    assert re.search(r'<p class="reason">[^<]+</p>', seed)
    # what was asked stays in the box
    assert 'value="China North Korea stability"' in answer.text


def test_stored_text_that_looks_like_markup_is_shown_as_text(client: TestClient) -> None:
    page = client.get("/search", params={"q": "railway strike"}).text
    (row,) = [r for r in _results(page) if "Rail Gazette" in r]
    assert "<script" not in row and "<img" not in row and "<b>" not in row
    assert html.escape("<script>alert(1)</script>", quote=False) in row
    snippet = re.search(r'<p class="snippet">(.*?)</p>', row, re.S)
    assert snippet, row
    # only <mark> is markup in a snippet; each marked piece is a word asked for
    assert set(re.findall(r"</?(\w+)", snippet.group(1))) <= {"mark"}
    marked = re.findall(r"<mark>(.*?)</mark>", snippet.group(1))
    assert marked and all(m.casefold() in {"railway", "strike"} for m in marked), marked


def test_an_empty_query_shows_just_the_box_and_a_bad_one_its_message_with_422(
    client: TestClient,
) -> None:
    empty = client.get("/search", params={"q": ""})
    assert empty.status_code == 200 and not _results(empty.text)
    assert 'role="alert"' not in empty.text
    for q, said in (("before:notadate", "before"), ("x" * 10_240, "at most 500")):
        answer = client.get("/search", params={"q": q}, headers={"Accept": "text/html"})
        assert answer.status_code == 422
        alert = re.search(r'<p class="message" role="alert">([^<]+)</p>', answer.text)
        assert alert and said in html.unescape(alert.group(1)), answer.text[-2000:]


def test_more_results_pages_on_without_repeating_a_story(client: TestClient) -> None:
    seen: list[str] = []
    path = f"/search?q={BROAD}"
    for _ in range(4):
        page = client.get(path).text
        seen += re.findall(r'<li class="result" data-story="(\d*)" data-article="(\d+)"', page)
        more = re.search(r'<a class="button" href="([^"]+)">More results</a>', page)
        if not more:
            break
        path = html.unescape(more.group(1))
        assert "cursor=" in path
    assert len(seen) > 20, seen
    assert len(set(seen)) == len(seen)


# -- following a search, and its Atom feed ----------------------------------------------------


def test_a_reader_follows_a_search_and_reads_its_matches_as_atom(store: Tidings) -> None:
    reader = Browser(store)
    before = reader.get("/search", q="North Korea").text
    assert ">Follow this search</button>" in before
    followed = reader.post("/search/follow", q="North Korea", referer="/search?q=North+Korea")
    assert followed.status_code == 200 and followed.url.path == "/search"
    assert "You follow the search" in followed.text
    assert "Following this search" in followed.text
    link = re.search(r'id="search-feed-link" class="wide" readonly value="([^"]+)"', followed.text)
    assert link, followed.text[-3000:]
    atom_url = html.unescape(link.group(1))

    feed = reader.client.get(_path(atom_url))
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert "North Korea" in parsed.feed.title
    assert any(e.title.startswith("China vows") for e in parsed.entries)
    assert all(e.summary for e in parsed.entries)

    # listed in the settings with the same link, and unfollowed from there
    settings = reader.get("/settings").text
    assert 'href="/search?q=North%20Korea">North Korea</a>' in settings
    assert f'href="{atom_url}">Atom feed</a>' in settings
    search_id = re.search(r'data-search="([0-9a-f]{12})"', settings)
    assert search_id
    gone = reader.post("/search/unfollow", search=search_id.group(1), referer="/settings")
    assert gone.status_code == 200 and gone.url.path == "/settings"
    assert "You no longer follow the search" in gone.text
    assert 'data-search="' not in gone.text
    assert ">Follow this search</button>" in reader.get("/search", q="North Korea").text


def test_a_search_feed_needs_its_readers_token_and_an_id_they_follow(store: Tidings) -> None:
    owner, other = Browser(store), Browser(store)
    page = owner.post("/search/follow", q="railway", referer="/search?q=railway").text
    atom_url = html.unescape(re.findall(r'id="search-feed-link"[^>]*value="([^"]+)"', page)[0])
    path = _path(atom_url)
    search_id = path.rsplit("/", 1)[1].removesuffix(".atom")
    assert owner.client.get(path).status_code == 200

    others = other.post("/search/follow", q="ferry", referer="/search?q=ferry").text
    other_url = re.findall(r'id="search-feed-link"[^>]*value="([^"]+)"', others)[0]
    other_token = _path(html.unescape(other_url)).split("/")[2]
    script = TestClient(create_app(store))  # a feed reader: no cookies, no Accept: text/html
    for wrong in (
        f"/feeds/{other_token}/search/{search_id}.atom",  # the other reader's token
        f"/feeds/nonsense/search/{search_id}.atom",
        path.replace(search_id, "0" * 12),
    ):
        answer = script.get(wrong)
        assert answer.status_code == 404, wrong
        assert answer.json()["error"]["message"]


def test_following_a_search_needs_the_forms_csrf_token(store: Tidings) -> None:
    reader = Browser(store)
    refused = reader.client.post("/search/follow", data={"csrf": "forged", "q": "storm"})
    assert refused.status_code == 403
    assert reader.get("/search", q="storm").text.count(">Follow this search</button>") == 1


# -- the API ----------------------------------------------------------------------------------


def test_the_api_answers_a_search_with_ranked_explained_hits(client: TestClient) -> None:
    answer = client.get("/api/v1/search", params={"q": "China North Korea", "limit": 5})
    assert answer.status_code == 200
    page = answer.json()
    assert page["query"] and 0 < len(page["hits"]) <= 5
    first = page["hits"][0]
    assert first["title"].startswith("China vows") and first["rank"] == 1
    fields = {"id", "url", "key_points", "published", "story_id", "score", "snippet",
              "highlights", "matched", "reason", "outlets", "articles", "headline"}  # fmt: skip
    assert fields <= set(first)
    assert set(first["matched"]) <= {"words", "meaning"} and first["reason"]["text"]
    for start, end in first["highlights"]:
        assert first["snippet"][start:end].casefold() in {"china", "north", "korea"}
    schema = client.get("/openapi.json").json()
    params = {p["name"] for p in schema["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {"q", "limit", "cursor"} <= params


def test_api_pages_by_cursor_repeat_no_story(client: TestClient) -> None:
    seen: list[tuple[int | None, int]] = []
    cursor = None
    pages = 0
    while pages < 10:
        params = {"q": BROAD, "limit": 4} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/search", params=params).json()
        seen += [(h["story_id"], h["id"]) for h in page["hits"]]
        assert [h["rank"] for h in page["hits"]] == list(range(pages * 4 + 1, len(seen) + 1))
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages >= 3
    assert len(set(seen)) == len(seen)
    stories = [s for s, _ in seen if s is not None]
    assert len(set(stories)) == len(stories)


@pytest.mark.parametrize(
    "q",
    ['"', '"unbalanced', "*", "NEAR(", "a OR", "AND", "OR OR", "^", "(", ")", "title:",
     "korea*", '-"', "-", "--korea", "source:", 'source:"', "topic:", "after:",
     "NEAR(china korea, 2)", "'; DROP TABLE articles; --", "\\", "💥 korea", "x" * 500,
     "korea " * 80],
)  # fmt: skip
def test_no_query_makes_the_api_fail(client: TestClient, q: str) -> None:
    answer = client.get("/api/v1/search", params={"q": q})
    assert answer.status_code in (200, 422), (q, answer.status_code, answer.text[:300])
    if answer.status_code == 200:
        assert isinstance(answer.json()["hits"], list)
    else:
        assert answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("q", "said"), [("", "query"), ("   ", "query"), ("x" * 10_240, "at most 500"),
                    ("korea before:notadate", "before")],
)  # fmt: skip
def test_a_bad_query_is_422_saying_why(client: TestClient, q: str, said: str) -> None:
    answer = client.get("/api/v1/search", params={"q": q})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" and said in error["message"]


def test_a_limit_outside_1_to_100_is_refused_naming_it(client: TestClient) -> None:
    for limit in (0, 101, "ten"):
        answer = client.get("/api/v1/search", params={"q": "korea", "limit": limit})
        assert answer.status_code == 422
        assert answer.json()["error"]["fields"][0]["field"] == "query.limit"


def test_anyone_may_search_but_a_bad_token_is_refused(client: TestClient) -> None:
    client.cookies.clear()
    assert client.get("/api/v1/search", params={"q": "korea"}).status_code == 200
    bad = client.get(
        "/api/v1/search", params={"q": "korea"}, headers={"Authorization": "Bearer nonsense"}
    )
    assert bad.status_code == 401
    named = client.get("/api/v1/search", params={"q": "korea", "reader": "somebody"})
    assert named.status_code == 401


def test_a_reader_follows_lists_and_drops_searches_through_the_api(client: TestClient) -> None:
    auth = _api_sign_up(client)
    made = client.post("/api/v1/searches", headers=auth, json={"query": "Trump"})
    assert made.status_code == 201, made.text
    saved = made.json()
    assert re.fullmatch(r"[0-9a-f]{12}", saved["id"]) and saved["query"]
    listed = client.get("/api/v1/searches", headers=auth).json()["items"]
    assert [s["id"] for s in listed] == [saved["id"]]
    feed = client.get(_path(saved["feed_url"]))
    assert feed.status_code == 200 and feedparser.parse(feed.content).entries

    other = _api_sign_up(client)
    assert client.delete(f"/api/v1/searches/{saved['id']}", headers=other).status_code == 404
    bad = client.post("/api/v1/searches", headers=other, json={"query": ""})
    assert bad.status_code == 422 and bad.json()["error"]["message"]

    dropped = client.delete(f"/api/v1/searches/{saved['id']}", headers=auth)
    assert dropped.status_code == 200 and dropped.json()["id"] == saved["id"]
    assert client.get("/api/v1/searches", headers=auth).json()["items"] == []


# -- marking the snippet ----------------------------------------------------------------------


def test_highlights_out_of_order_overlapping_or_out_of_range_never_change_the_text() -> None:
    text = "China and North Korea"
    for highlights in ([(0, 5)], [(10, 15), (0, 5)], [(0, 8), (3, 12)], [(-4, 3), (19, 99)],
                       [(7, 2)], [], [(0, 21)]):  # fmt: skip
        pieces = spans(text, highlights)
        assert "".join(p for p, _ in pieces) == text, highlights
    assert spans(text, [(10, 15), (0, 5)]) == [
        ("China", True), (" and ", False), ("North", True), (" Korea", False)
    ]  # fmt: skip
