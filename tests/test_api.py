"""The JSON API under /api/v1, through the app and over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tidings.library import Tidings
from tidings.web import create_app

from .conftest import SEED


@pytest.fixture(scope="module")
def store(web_store: Tidings) -> Tidings:
    return web_store


@pytest.fixture(scope="module")
def client(store: Tidings) -> TestClient:
    return TestClient(create_app(store))


def test_an_article_reads_as_the_terminal_shows_it_with_json(
    client: TestClient, store: Tidings
) -> None:
    newest = client.get("/api/v1/articles", params={"limit": 200}).json()
    assert newest["total"] == store.article_count()
    seed = next(a for a in newest["items"] if a["title"].startswith("China vows"))
    shown = client.get(f"/api/v1/articles/{seed['id']}")
    assert shown.status_code == 200
    assert shown.json() == json.loads(json.dumps(store.article(seed["id"]).to_dict()))
    assert len(shown.json()["key_points"]) == 2


def test_stories_list_and_show_every_outlets_article(client: TestClient) -> None:
    listed = client.get("/api/v1/stories", params={"limit": 5}).json()
    assert listed["total"] >= len(listed["items"]) > 0
    first = listed["items"][0]
    story = client.get(f"/api/v1/stories/{first['id']}").json()
    assert story["headline"] == first["headline"]
    assert len(story["timeline"]) == story["articles"]


def test_the_most_covered_topics_are_offered(client: TestClient) -> None:
    topics = client.get("/api/v1/topics", params={"limit": 10}).json()["items"]
    assert topics and all({"key", "name", "articles"} <= set(t) for t in topics)


def test_unknown_ids_answer_404_in_the_one_error_shape(client: TestClient) -> None:
    for path in ("/api/v1/articles/99999999", "/api/v1/stories/99999999", "/api/v1/nothing"):
        answer = client.get(path)
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert error["status"] == 404 and error["code"] == "not_found" and error["message"]


def test_malformed_input_answers_422_naming_the_field(client: TestClient) -> None:
    for params in ({"limit": 0}, {"limit": "ten"}, {"offset": -1}):
        answer = client.get("/api/v1/articles", params=params)
        assert answer.status_code == 422
        error = answer.json()["error"]
        (name,) = params
        assert error["code"] == "invalid_input"
        assert [f["field"] for f in error["fields"]] == [f"query.{name}"]
    assert client.get("/api/v1/articles/seven").json()["error"]["fields"][0]["field"] == (
        "path.article_id"
    )


def test_the_openapi_schema_documents_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/articles", "/api/v1/articles/{article_id}", "/api/v1/stories",
            "/api/v1/stories/{story_id}", "/api/v1/topics"} <= set(schema["paths"])  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tidings_serve_answers_over_real_http(shared: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'served.db'}"
    with Tidings(db) as tidings:
        (result,) = tidings.ingest([str(shared / SEED)])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tidings", "serve", "--port", str(port), "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/articles/{result.articles[0]}"
        for _ in range(300):
            try:
                answer = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
                time.sleep(0.1)
        else:
            pytest.fail("tidings serve did not answer within 30 s")
        assert answer.status_code == 200
        assert answer.json()["title"].startswith("China vows")
    finally:
        server.terminate()
        server.wait(timeout=10)


# -- accounts and the personal feed -----------------------------------------------------------

_n = iter(range(10**6))


def _sign_up(client: TestClient) -> tuple[str, dict[str, str]]:
    name = f"api reader {next(_n)}"
    answer = client.post("/api/v1/accounts", json={"name": name, "password": "correct horse"})
    assert answer.status_code == 201, answer.text
    client.cookies.clear()  # these calls authenticate by bearer token, as an app would
    return name, {"Authorization": f"Bearer {answer.json()['token']}"}


def test_a_signed_up_reader_gets_an_explained_feed_that_follows_their_choices(
    client: TestClient,
) -> None:
    _, auth = _sign_up(client)
    page = client.get("/api/v1/feed", headers=auth, params={"limit": 5}).json()
    assert page["items"] and all(
        {"story_id", "article", "outlets", "reason"} <= set(i) for i in page["items"]
    )
    followed = client.post("/api/v1/follows", headers=auth, json={"topic": "North Korea"})
    assert followed.status_code == 201 and followed.json() == {"followed": "North Korea"}
    first = client.get("/api/v1/feed", headers=auth, params={"limit": 5}).json()["items"][0]
    assert first["reason"] == "You follow North Korea"
    assert first["article"]["title"].startswith("China vows")
    hidden = client.post(
        "/api/v1/events", headers=auth, json={"kind": "hide", "story_id": first["story_id"]}
    )
    assert hidden.status_code == 201
    after = client.get("/api/v1/feed", headers=auth, params={"limit": 50}).json()
    assert first["story_id"] not in [i["story_id"] for i in after["items"]]
    kept_out = client.get("/api/v1/filtered", headers=auth).json()["items"]
    assert [f["reason"] for f in kept_out if f["story_id"] == first["story_id"]] == ["hidden"]


def test_a_reader_cannot_read_or_change_another_readers_data(client: TestClient) -> None:
    other, _ = _sign_up(client)
    _, auth = _sign_up(client)
    for answer in (
        client.get("/api/v1/feed", headers=auth, params={"reader": other}),
        client.post(
            "/api/v1/follows", headers=auth, params={"reader": other}, json={"topic": "China"}
        ),
        client.get("/api/v1/readers", headers=auth),
    ):
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "forbidden"


def test_bad_tokens_and_wrong_passwords_are_refused(client: TestClient) -> None:
    name, _ = _sign_up(client)
    for headers in ({"Authorization": "Bearer nonsense"}, {"X-API-Key": "tdk_nonsense"}, {}):
        answer = client.get("/api/v1/feed", headers=headers)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
    wrong = client.post("/api/v1/sessions", json={"name": name, "password": "wrong horse"})
    assert wrong.status_code == 401
    right = client.post("/api/v1/sessions", json={"name": name, "password": "correct horse"})
    client.cookies.clear()
    assert right.status_code == 200 and right.json()["reader"]["name"] == name
    short = client.post("/api/v1/accounts", json={"name": "shorty", "password": "short"})
    assert short.status_code == 422 and short.json()["error"]["fields"][0]["field"] == "password"


def test_a_cookie_session_must_echo_its_csrf_token_to_change_anything(store: Tidings) -> None:
    browser = TestClient(create_app(store))  # keeps cookies, like a browser
    signed = browser.post(
        "/api/v1/accounts", json={"name": f"cookie {next(_n)}", "password": "correct horse"}
    )
    assert "httponly" in signed.headers["set-cookie"].lower()
    assert "samesite=lax" in signed.headers["set-cookie"].lower()
    assert browser.get("/api/v1/feed").status_code == 200  # reading needs no token
    refused = browser.post("/api/v1/follows", json={"topic": "China"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    allowed = browser.post(
        "/api/v1/follows", json={"topic": "China"}, headers={"X-CSRF-Token": signed.json()["csrf"]}
    )
    assert allowed.status_code == 201
    assert (
        browser.delete(
            "/api/v1/sessions", headers={"X-CSRF-Token": signed.json()["csrf"]}
        ).status_code
        == 204
    )
    assert browser.get("/api/v1/feed").status_code == 401


def test_a_newsroom_key_manages_readers_and_reads_their_feeds(
    client: TestClient, store: Tidings
) -> None:
    key = {"X-API-Key": store.add_api_key("Example Times")}
    name = f"newsroom reader {next(_n)}"
    assert client.post("/api/v1/readers", headers=key, json={"name": name}).status_code == 201
    assert name in [r["name"] for r in client.get("/api/v1/readers", headers=key).json()["items"]]
    page = client.get("/api/v1/feed", headers=key, params={"reader": name, "limit": 3})
    assert page.status_code == 200 and page.json()["reader"] == name
    unnamed = client.get("/api/v1/feed", headers=key)
    assert unnamed.status_code == 422
    unknown = client.get("/api/v1/feed", headers=key, params={"reader": "nobody here"})
    assert unknown.status_code == 404


def test_the_private_atom_feed_link_works_until_revoked(client: TestClient) -> None:
    import feedparser

    _, auth = _sign_up(client)
    url = client.get("/api/v1/feed-link", headers=auth).json()["url"]
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo and parsed.entries and all(e.summary for e in parsed.entries)
    fresh = client.post("/api/v1/feed-link", headers=auth).json()["url"]
    assert fresh != url
    assert client.get(url).status_code == 404
    assert client.get(fresh).status_code == 200


# -- pages ------------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page carries a CSRF field"
    return found.group(1)


def _page_sign_up(browser: TestClient, name: str) -> httpx.Response:
    """The sign-up form as a browser posts it, with the token the form page gave."""
    token = _csrf(browser.get("/signup").text)
    data = {"name": name, "password": "correct horse", "csrf": token}
    return browser.post("/signup", data=data)


def test_a_newcomer_signs_up_picks_a_topic_and_sees_an_explained_feed(store: Tidings) -> None:
    browser = TestClient(create_app(store))
    assert browser.get("/").url.path == "/signin"  # signed out: asked to sign in
    name = f"page reader {next(_n)}"
    onboarding = _page_sign_up(browser, name)
    assert onboarding.url.path == "/onboarding"
    offered = [name for _, name, _ in store.popular_topics(40)]
    assert offered[0] in onboarding.text and 'type="checkbox"' in onboarding.text
    csrf = _csrf(onboarding.text)
    feed = browser.post("/onboarding", data={"csrf": csrf, "topic": ["north-korea"]})
    assert feed.url.path == "/"
    assert "You follow North Korea" in feed.text and "China vows" in feed.text
    story = feed.text.split('data-story="')[1].split('"')[0]
    # hide it: gone from the feed, listed with its reason, and it can come back
    after = browser.post(
        "/act", data={"csrf": csrf, "kind": "hide", "story": story}, headers={"referer": "/"}
    )
    assert f'data-story="{story}"' not in after.text
    hidden = browser.get("/hidden")
    assert "You hid this story" in hidden.text and "Show again" in hidden.text


def test_page_actions_without_the_csrf_token_are_refused(store: Tidings) -> None:
    browser = TestClient(create_app(store))
    _page_sign_up(browser, f"page reader {next(_n)}")
    refused = browser.post("/act", data={"csrf": "forged", "kind": "hide", "story": "1"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_story_and_article_pages_show_the_timeline_and_the_whole_article(
    client: TestClient, store: Tidings
) -> None:
    seed = next(a for a in store.articles(limit=200) if a.title.startswith("China vows"))
    page = client.get(f"/articles/{seed.id}")
    assert page.status_code == 200
    assert "VCG/VCG via Getty Images" in page.text  # the caption's credit
    assert all(point in page.text for point in seed.key_points)
    timeline = client.get(f"/stories/{seed.story_id}")
    assert timeline.status_code == 200 and "<svg" in timeline.text
    assert client.get("/stories/99999999").status_code == 404
