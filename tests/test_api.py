"""The JSON API under /api/v1, through the app and over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tidings.library import Tidings
from tidings.web import create_app

from .conftest import BACKENDS, fresh_database

SEED = "seed/000_423f00d2bfa5128c.txt"


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, shared: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tidings]:
    folder = tmp_path_factory.mktemp("api")
    with fresh_database(request.param, folder) as url, Tidings(url) as tidings:
        inputs = [shared / SEED, shared / "data/feeds/guardian.rss"]
        assert all(r.status == "ok" for r in tidings.ingest([str(p) for p in inputs]))
        tidings.understand()
        yield tidings


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
