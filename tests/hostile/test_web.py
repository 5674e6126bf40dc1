"""The web app under hostile input and abuse: forms that crashed, text no database or XML
takes, integers past 64 bits, password guessing and sign-in floods, missing security
headers, state changed by a GET, a forged Host header, and a server that refused
connections while it warmed up.

Each test is named after what a user (or an operator) notices. The store is the seed and
the Guardian's feed, on SQLite and on PostgreSQL (``web_store``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import update

from tidings import config
from tidings.errors import InputError
from tidings.library import Tidings
from tidings.models import Document
from tidings.rank.signals import Kind
from tidings.safety import MAX_INT64
from tidings.store import events as event_store
from tidings.store.schema import readers
from tidings.web import api, atom, create_app, pages
from tidings.web.throttle import Busy, PasswordGuard, Throttled

_n = itertools.count()
PASSWORD = "correct horse"
TEMPLATES = Path(__file__).resolve().parents[2] / "src/tidings/web/templates"


@pytest.fixture(scope="module")
def store(web_store: Tidings) -> Tidings:
    return web_store


@pytest.fixture
def browser(store: Tidings) -> TestClient:
    """A fresh app (its own sign-in throttle) and a client that keeps cookies."""
    return TestClient(create_app(store))


def _name(who: str) -> str:
    return f"{who} {next(_n)}"


def _form_token(browser: TestClient, path: str) -> str:
    page = browser.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, f"{path} carries a CSRF field"
    return found.group(1)


def _form(browser: TestClient, path: str, **data: str) -> httpx.Response:
    """Post the sign-in or sign-up form as a browser does: the page first, then the form
    with the page's hidden fields (whether it must have a token is the server's to say)."""
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', browser.get(path).text))
    return browser.post(path, data={**hidden, **data})


def _alert(html: str) -> str:
    found = re.search(r'role="alert">([^<]+)<', html)
    assert found, "the page shows what went wrong"
    return found.group(1)


def _api_sign_up(client: TestClient, name: str | None = None) -> dict[str, str]:
    answer = client.post(
        "/api/v1/accounts", json={"name": name or _name("api"), "password": PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.text)
    error = answer.json()["error"]
    assert error["status"] == status and error["code"] and error["message"]
    return error


# -- 1. the sign-in and sign-up forms ---------------------------------------------------------


def test_a_wrong_password_shows_the_sign_in_form_again_with_401(browser: TestClient) -> None:
    name = _name("forgetful")
    assert _form(browser, "/signup", name=name, password=PASSWORD).url.path == "/onboarding"
    browser.cookies.delete("tidings_session")
    wrong = _form(browser, "/signin", name=name, password="wrong horse")
    assert wrong.status_code == 401
    assert "<h1>Sign in</h1>" in wrong.text and _alert(wrong.text) == "Wrong name or password."
    assert f'value="{name}"' in wrong.text  # the name is kept, the password is not


def test_a_taken_name_shows_the_sign_up_form_again_with_409_and_the_api_says_409(
    browser: TestClient,
) -> None:
    name = _name("popular")
    _form(browser, "/signup", name=name, password=PASSWORD)
    browser.cookies.delete("tidings_session")
    again = _form(browser, "/signup", name=name, password=PASSWORD)
    assert again.status_code == 409 and "already exists" in _alert(again.text)
    api = browser.post("/api/v1/accounts", json={"name": name, "password": PASSWORD})
    error = _error(api, 409)
    assert error["code"] == "conflict" and error["fields"][0]["field"] == "name"


def test_a_short_password_shows_the_sign_up_form_again_with_422(browser: TestClient) -> None:
    short = _form(browser, "/signup", name=_name("hasty"), password="short")
    assert short.status_code == 422 and "at least" in _alert(short.text)


# -- 4. characters XML or PostgreSQL refuse ---------------------------------------------------


def test_a_name_with_a_control_character_is_refused_naming_the_field(
    browser: TestClient, store: Tidings
) -> None:
    api = browser.post("/api/v1/accounts", json={"name": "bell\x07", "password": PASSWORD})
    assert _error(api, 422)["fields"][0]["field"] == "name"
    page = _form(browser, "/signup", name="bell\x01", password=PASSWORD)
    assert page.status_code == 422 and "control characters" in _alert(page.text)
    key = {"X-API-Key": store.add_api_key(_name("newsroom"))}
    added = browser.post("/api/v1/readers", headers=key, json={"name": "tab\x1bname"})
    assert _error(added, 422)["fields"][0]["field"] == "name"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("post", "/api/v1/accounts", {"json": {"name": "a\x00b", "password": PASSWORD}},
         "body.name"),
        ("post", "/api/v1/sessions", {"json": {"name": "someone", "password": "pass\x00word"}},
         "body.password"),
        ("post", "/api/v1/accounts", {"content": '{"name": "\\ud800", "password": "correct horse"}',
          "headers": {"Content-Type": "application/json"}},
         "body.name"),
        ("get", "/api/v1/articles", {"params": {"source": "The\x00Guardian"}}, "query.source"),
        ("get", "/api/v1/topics/North%00Korea", {}, "path"),
        ("post", "/signin", {"data": {"name": "x\x00", "password": PASSWORD, "csrf": "t"}},
         "body.name"),
        ("get", "/", {"params": {"cursor": "2\x00"}}, "query.cursor"),
    ],
)  # fmt: skip
def test_a_nul_anywhere_in_the_input_is_422_naming_it_on_every_database(
    browser: TestClient, method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    answer = getattr(browser, method)(path, **kwargs)
    error = _error(answer, 422)
    assert [f["field"] for f in error["fields"]] == [field]


@pytest.mark.parametrize("depth", [900, 20_000])
def test_a_deeply_nested_json_body_is_refused_as_bad_input_not_a_server_error(
    browser: TestClient, depth: int
) -> None:
    """Nesting past what the parser takes, with a \\u escape that makes the NUL check look
    inside: a 4xx saying the body is wrong, never a 500 (and a NUL inside is still found)."""
    token = browser.post(
        "/api/v1/accounts", json={"name": _name("nester"), "password": PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for inner in (b'"\\u0041"', b'"\\u0000"'):
        body = b'{"kind": "open", "x": ' + b"[" * depth + inner + b"]" * depth + b"}"
        answer = browser.post("/api/v1/events", content=body, headers=headers)
        assert 400 <= answer.status_code < 500, (depth, inner, answer.text[:200])


def test_a_reader_named_with_a_control_character_still_gets_a_valid_atom_feed(
    browser: TestClient, store: Tidings
) -> None:
    """A row written before names were checked: its feed title must not break the XML."""
    auth = _api_sign_up(browser)
    me = browser.get("/api/v1/feed", headers=auth, params={"limit": 1}).json()["reader"]
    with store.engine.begin() as connection:
        connection.execute(update(readers).where(readers.c.name == me).values(name=me + "\x01"))
    url = browser.get("/api/v1/feed-link", headers=auth).json()["url"]
    answer = browser.get(url.removeprefix(config.DEFAULT_BASE_URL))
    assert answer.status_code == 200
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo and parsed.feed.title.endswith(me)


def test_an_article_title_with_control_characters_keeps_the_atom_feed_valid(
    store: Tidings,
) -> None:
    reader = store.add_reader(_name("atom"))
    page = store.feed(reader.id, limit=3, record=False)
    first = page.items[0]
    broken = dataclasses.replace(
        first.article, title="Bell\x07 and \x1b escape", key_points=["a\x00b", "\ufffe"]
    )
    page.items[0] = dataclasses.replace(first, article=broken)
    document = atom.render(page, title="a feed\x01", self_url="http://x.example/\x02")
    root = etree.fromstring(document)
    titles = root.findall(f"{{{atom.ATOM}}}entry/{{{atom.ATOM}}}title")
    assert titles[0].text == "Bell and  escape"


# -- 5. integers past 64 bits -----------------------------------------------------------------

HUGE = str(2**70)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("get", "/api/v1/articles/99999999999999999999", {}, "path.article_id"),
        ("get", f"/api/v1/stories/{HUGE}", {}, "path.story_id"),
        ("get", f"/api/v1/stories/-{HUGE}", {}, "path.story_id"),
        ("get", "/api/v1/articles", {"params": {"offset": str(2**63)}}, "query.offset"),
        ("get", "/api/v1/stories", {"params": {"min_articles": str(10**30)}},
         "query.min_articles"),
        ("get", "/api/v1/readers", {"params": {"offset": HUGE}}, "query.offset"),
        ("post", "/api/v1/events", {"json": {"kind": "open", "article_id": 2**70}},
         "body.article_id"),
        ("post", "/api/v1/events", {"json": {"kind": "save", "story_id": -(2**70)}},
         "body.story_id"),
        ("delete", f"/api/v1/sources/{HUGE}", {}, "path.source_id"),
        ("get", f"/articles/{HUGE}", {}, "path.article_id"),
        ("get", f"/stories/{HUGE}", {}, "path.story_id"),
        ("post", f"/articles/{HUGE}/open", {"data": {"csrf": "x"}}, "path.article_id"),
        ("post", "/act", {"data": {"csrf": "x", "kind": "hide", "story": HUGE}}, "body.story"),
    ],
)  # fmt: skip
def test_ids_offsets_and_counts_past_64_bits_are_refused_naming_the_field(
    browser: TestClient,
    store: Tidings,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    field: str,
) -> None:
    auth = {"X-API-Key": store.add_api_key(_name("newsroom"))}
    if "events" in path or "sources" in path:
        kwargs = {**kwargs, "params": {"reader": store.add_reader(_name("big")).name}}
    answer = getattr(browser, method)(path, headers=auth, **kwargs)
    error = _error(answer, 422)
    assert [f["field"] for f in error["fields"]] == [field]


def test_a_source_id_past_64_bits_on_the_settings_page_is_a_404(browser: TestClient) -> None:
    _form(browser, "/signup", name=_name("remover"), password=PASSWORD)
    csrf = _form_token(browser, "/settings")
    for source in (HUGE, "²"):
        answer = browser.post("/settings/sources/remove", data={"csrf": csrf, "source": source})
        assert answer.status_code == 404, source


def test_a_dwell_of_infinite_seconds_is_refused(browser: TestClient, store: Tidings) -> None:
    auth = _api_sign_up(browser)
    story = store.stories(limit=1)[0].id
    for value in ("Infinity", "NaN", "1e308"):
        body = f'{{"kind": "dwell", "story_id": {story}, "value": {value}}}'
        answer = browser.post(
            "/api/v1/events",
            headers={**auth, "Content-Type": "application/json"},
            content=body,
        )
        assert _error(answer, 422)["fields"][0]["field"] == "body.value", value


def test_no_route_takes_an_unbounded_integer(
    store: Tidings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walk every route's parameters and bodies (pages too) through the OpenAPI schema."""
    app_routes = [r for r in create_app(store).routes if isinstance(r, APIRoute)]
    routes = app_routes + [r for top in (api.router, api.feeds, pages.router) for r in top.routes]
    for route in routes:
        monkeypatch.setattr(route, "include_in_schema", True)
    schema = get_openapi(title="all", version="1", routes=routes)
    integers: list[str] = []
    unbounded: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer" and "ValidationError" not in where:
                integers.append(where)  # (FastAPI's own error schema is output, not input)
                low, high = node.get("minimum", -(2.0**64)), node.get("maximum", 2.0**64)
                if not -float(MAX_INT64) <= low <= high <= float(MAX_INT64):  # JSON floats
                    unbounded.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "")
    assert len(integers) >= 10  # the walk does reach the integers
    assert any("/act" in w or "Body_act" in w for w in integers)
    assert not unbounded, unbounded


# -- 7. password guessing and sign-in floods --------------------------------------------------


def test_repeated_wrong_passwords_for_one_account_are_slowed_down_with_429(
    browser: TestClient,
) -> None:
    name = _name("target")
    _api_sign_up(browser, name)
    statuses = []
    for _ in range(8):
        wrong = browser.post("/api/v1/sessions", json={"name": name, "password": "guess"})
        statuses.append(wrong.status_code)
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429, statuses
    error = _error(wrong, 429)
    assert error["code"] == "too_many_requests" and "try again in" in error["message"]
    assert int(wrong.headers["Retry-After"]) >= 1
    # Even the right password waits: the lock is on the account, not the guess.
    right = browser.post("/api/v1/sessions", json={"name": name, "password": PASSWORD})
    assert right.status_code == 429
    # The page says so on the form.
    page = _form(browser, "/signin", name=name, password=PASSWORD)
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert "Too many failed sign-ins" in _alert(page.text)


def test_guessing_across_many_accounts_from_one_address_is_slowed_down(
    browser: TestClient,
) -> None:
    statuses = [
        browser.post("/api/v1/sessions", json={"name": _name("nobody"), "password": "x"})
        for _ in range(34)
    ]
    codes = [s.status_code for s in statuses]
    assert codes[:30] == [401] * 30 and codes[-1] == 429, codes


def test_a_lock_expires_and_a_right_password_then_clears_the_account() -> None:
    now = [0.0]
    guard = PasswordGuard(account_free=2, address_free=100, clock=lambda: now[0])

    def wrong() -> None:
        raise InputError("password", "wrong name or password")

    async def attempt(check: Any) -> Any:
        return await guard.attempt(account="ann", address="10.0.0.1", check=check)

    for _ in range(3):
        with pytest.raises(InputError):
            asyncio.run(attempt(wrong))
    with pytest.raises(Throttled) as locked:
        asyncio.run(attempt(lambda: "signed in"))
    assert locked.value.retry_after == 1
    now[0] += 1.5
    assert asyncio.run(attempt(lambda: "signed in")) == "signed in"
    with pytest.raises(InputError):  # counting starts again from nothing
        asyncio.run(attempt(wrong))


def test_no_more_than_two_password_checks_run_at_once_and_the_rest_wait_or_get_503() -> None:
    guard = PasswordGuard(checks=2, wait=0.3, address_free=1000)
    running = peak = 0
    lock = threading.Lock()

    def check() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return "ok"

    async def flood() -> list[Any]:
        return await asyncio.gather(
            *(guard.attempt(account=f"r{i}", address="a", check=check) for i in range(24)),
            return_exceptions=True,
        )

    results = asyncio.run(flood())
    assert peak == 2
    assert {type(r) for r in results} == {str, Busy}
    assert all(r.status_code == 503 and r.headers["Retry-After"] for r in results if r != "ok")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SERVE = """
import sys, uvicorn
from tidings.library import Tidings
from tidings.web import create_app
uvicorn.run(create_app(Tidings(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning")
"""


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = {k: re.search(rf"{k}:\s+(\d+) kB", status) for k in ("VmRSS", "VmHWM")}
    return {k: int(m.group(1)) // 1024 for k, m in found.items() if m}


def test_a_flood_of_48_concurrent_sign_ins_keeps_memory_flat(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'flood.db'}"
    with Tidings(db) as tidings:
        tidings.sign_up("flooded", PASSWORD)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", _SERVE, db, str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/signin", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None
                time.sleep(0.1)
        signed = httpx.post(
            f"{url}/api/v1/sessions", json={"name": "flooded", "password": PASSWORD}
        )
        assert signed.status_code == 200  # argon2 loaded and used once: the baseline
        before = _memory(server.pid)["VmRSS"]

        def sign_in(i: int) -> int:
            answer = httpx.post(
                f"{url}/api/v1/sessions",
                json={"name": f"flood {i}", "password": "wrong"},
                timeout=60,
            )
            return answer.status_code

        with ThreadPoolExecutor(48) as pool:
            statuses = list(pool.map(sign_in, range(96)))
        peak = _memory(server.pid)["VmHWM"]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert set(statuses) <= {401, 429, 503}, statuses
    assert statuses.count(401) >= 2
    assert peak - before < 300, f"RSS went from {before} MB to a peak of {peak} MB"


# -- 8. security headers ----------------------------------------------------------------------


def test_every_answer_forbids_framing_sniffing_and_foreign_scripts(browser: TestClient) -> None:
    _form(browser, "/signup", name=_name("headers"), password=PASSWORD)
    for path in ("/", "/signin", "/api/v1/articles", "/api/v1/nothing", "/static/tidings.css"):
        answer = browser.get(path)
        csp = answer.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp, path
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert answer.headers["Referrer-Policy"] == "same-origin", path


def test_no_template_runs_inline_script_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert not re.search(r"\sstyle\s*=|<style", text), template.name


def test_session_cookies_are_secure_when_the_base_url_is_https(store: Tidings) -> None:
    for base, secure in (("https://news.example", True), ("http://127.0.0.1:8000", False)):
        client = TestClient(create_app(store, base_url=base), base_url=base)
        signed = client.post("/api/v1/accounts", json={"name": _name("tls"), "password": PASSWORD})
        assert ("secure" in signed.headers["set-cookie"].lower()) is secure
        form = client.get("/signin")
        assert ("secure" in form.headers["set-cookie"].lower()) is secure
        assert ("Strict-Transport-Security" in form.headers) is secure


def test_the_api_docs_load_nothing_from_another_site(browser: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = browser.get(path)
        assert page.status_code == 200
        assert not re.search(r"(src|href)=\"https?://", page.text), path
        for asset in re.findall(r"(?:src|href)=\"(/[^\"]+)\"", page.text):
            assert browser.get(asset).status_code == 200, asset
        csp = page.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


# -- 10. state changed by a GET; login CSRF ---------------------------------------------------


def _opens(store: Tidings, name: str) -> list[int | None]:
    with store.engine.connect() as connection:
        found = event_store.for_reader(connection, store.reader(name).id)
    return [e.article_id for e in found if e.kind is Kind.OPEN]


def test_a_link_from_another_site_to_an_article_marks_nothing_read(
    browser: TestClient, store: Tidings
) -> None:
    name = _name("linked")
    _form(browser, "/signup", name=name, password=PASSWORD)
    article = store.articles(limit=1)[0].id
    page = browser.get(f"/articles/{article}")
    assert page.status_code == 200
    assert _opens(store, name) == []
    csrf = re.search(r'data-csrf="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert 'src="/static/tidings.js"' in page.text
    forged = browser.post(f"/articles/{article}/open", data={"csrf": "forged"})
    assert forged.status_code == 403 and _opens(store, name) == []
    opened = browser.post(f"/articles/{article}/open", data={"csrf": csrf})
    assert opened.status_code == 204 and _opens(store, name) == [article]


def test_a_sign_in_form_posted_from_another_site_is_refused(browser: TestClient) -> None:
    name = _name("victim")
    _api_sign_up(browser, name)
    for data in (
        {"name": name, "password": PASSWORD},  # no token, no cookie: another site's form
        {"name": name, "password": PASSWORD, "csrf": "guessed"},
    ):
        browser.cookies.clear()
        answer = browser.post("/signin", data=data)
        assert answer.status_code == 403 and "another site" in _alert(answer.text)
        assert "tidings_session" not in answer.cookies
        answer = browser.post("/signup", data={**data, "name": _name("planted")})
        assert answer.status_code == 403
    browser.cookies.clear()
    assert _form(browser, "/signin", name=name, password=PASSWORD).url.path == "/"


def test_a_forged_referer_does_not_send_the_reader_to_another_site(browser: TestClient) -> None:
    _form(browser, "/signup", name=_name("referred"), password=PASSWORD)
    csrf = _form_token(browser, "/settings")
    story = browser.get("/").text.split('data-story="')[1].split('"')[0]
    for referer, to in (("https://evil.example/x?y=1", "/x?y=1"), ("//evil.example", "/")):
        answer = browser.post(
            "/act",
            data={"csrf": csrf, "kind": "save", "story": story},
            headers={"referer": referer},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == to


# -- 11. the Host header ----------------------------------------------------------------------


def test_the_private_feed_link_ignores_a_forged_host_header(store: Tidings) -> None:
    client = TestClient(create_app(store, base_url="https://news.example/"))
    auth = _api_sign_up(client)
    forged = {**auth, "Host": "evil.example"}
    link = client.get("/api/v1/feed-link", headers=forged).json()["url"]
    assert link.startswith("https://news.example/feeds/") and link.endswith(".atom")
    rotated = client.post("/api/v1/feed-link", headers=forged).json()["url"]
    assert rotated.startswith("https://news.example/feeds/")
    feed = client.get(
        rotated.removeprefix("https://news.example"), headers={"Host": "evil.example"}
    )
    assert b"evil.example" not in feed.content and b"https://news.example/feeds/" in feed.content
    page = TestClient(create_app(store, base_url="https://news.example"), "https://news.example")
    _form(page, "/signup", name=_name("settings"), password=PASSWORD)
    settings = page.get("/settings", headers={"Host": "evil.example"})
    assert "evil.example" not in settings.text and "https://news.example/feeds/" in settings.text


def test_a_base_url_that_is_not_an_http_url_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(config.BASE_URL_ENV, raising=False)
    assert config.base_url() == "http://127.0.0.1:8000"
    assert config.base_url("https://news.example/") == "https://news.example"
    monkeypatch.setenv(config.BASE_URL_ENV, "https://env.example")
    assert config.base_url() == "https://env.example"
    for bad in ("news.example", "ftp://news.example", "https://", "http://a.example:port"):
        with pytest.raises(InputError, match=config.BASE_URL_ENV):
            config.base_url(bad)


# -- 13. a restarted server ---------------------------------------------------------------------


def test_a_warming_server_answers_at_once_and_says_when_it_is_ready(
    store: Tidings, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = threading.Event()
    original = store.feeds.warm

    def slow_warm() -> None:
        loaded.wait(10)
        original()

    monkeypatch.setattr(type(store.feeds), "warm", lambda self: slow_warm())
    monkeypatch.setattr("tidings.web.app._one_thread_each", lambda: None)
    started = time.monotonic()
    with TestClient(create_app(store, serving=True)) as client:
        assert time.monotonic() - started < 5, "startup waited for the warm-up"
        assert client.get("/healthz").status_code == 200
        not_ready = client.get("/readyz")
        assert _error(not_ready, 503)["code"] == "unavailable" and not_ready.headers["Retry-After"]
        auth = _api_sign_up(client)
        served = client.get("/api/v1/feed", headers=auth, params={"limit": 3})
        assert served.status_code == 200 and served.json()["items"]  # slower, not refused
        loaded.set()
        for _ in range(100):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.1)
        assert client.get("/readyz").json() == {"status": "ready"}


# -- anything else ----------------------------------------------------------------------------


def test_an_unexpected_failure_still_answers_in_the_one_error_shape(store: Tidings) -> None:
    app = create_app(store)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", broken)
    answer = TestClient(app, raise_server_exceptions=False).get("/boom")
    error = _error(answer, 500)
    assert error["code"] == "internal_error" and "a bug" not in error["message"]


def test_a_database_locked_by_a_long_write_answers_503_and_the_event_goes_in_after(
    tmp_path: Path,
) -> None:
    """SQLite has one writer: while another process holds the write lock past the busy
    timeout, an action is told to come back (503, Retry-After), not a bare 500; nothing
    half-written is left, and the same action succeeds once the lock is gone."""
    import sqlite3

    from sqlalchemy import event

    path = tmp_path / "locked.db"
    with Tidings(f"sqlite:///{path}") as tidings:
        event.listen(
            tidings.engine,
            "connect",
            lambda connection, _: connection.execute("PRAGMA busy_timeout=200"),
        )
        tidings.engine.dispose()  # new connections wait 0.2 s, not 30 s, for the lock
        data = b'{"title": "Harbour reopens", "text": "The harbour reopened today."}\n'
        tidings.ingest_document(Document(name="one.jsonl", data=data))
        client = TestClient(create_app(tidings))
        token = client.post("/api/v1/accounts", json={"name": "ann", "password": PASSWORD}).json()[
            "token"
        ]
        article = tidings.articles(limit=1)[0].id
        post = {"kind": "open", "article_id": article}
        headers = {"Authorization": f"Bearer {token}"}
        other = sqlite3.connect(path)
        other.execute("BEGIN EXCLUSIVE")
        try:
            answer = client.post("/api/v1/events", json=post, headers=headers)
        finally:
            other.rollback()
            other.close()
        assert _error(answer, 503)["code"] == "unavailable"
        assert answer.headers["Retry-After"]
        assert client.post("/api/v1/events", json=post, headers=headers).status_code == 201
        with tidings.engine.connect() as connection:
            stored = event_store.for_reader(connection, tidings.reader("ann").id)
        assert [e.kind for e in stored] == [Kind.OPEN]  # once: the refused one left nothing
