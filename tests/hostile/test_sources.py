"""A reader's sources under hostile input and abuse: huge OPML lists, feeds built to break
the parser or the store, and what a refused address tells the person who typed it.

Every feed is served by a local server (tests/httpd.py); nothing reaches the internet.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.httpd import Site
from tidings.errors import InputError
from tidings.ingest import guard
from tidings.library import Tidings
from tidings.store import articles as article_store
from tidings.store.schema import articles, sources, subscriptions

_names = itertools.count()
RSS = {"Content-Type": "application/rss+xml"}
JSON_FEED = {"Content-Type": "application/feed+json"}


def rss(title: str, items: int = 3) -> bytes:
    """A small feed whose entries carry their whole text (two long paragraphs), so that
    polling it never fetches the pages they link to."""
    body = "".join(f"<p>{f'What happened in {title}, told at length. ' * 8}</p>" for _ in "ab")
    entries = "".join(
        f"<item><title>{title} story {i}</title><link>https://news.example/{title}/{i}</link>"
        f"<description><![CDATA[{body}]]></description>"
        f"<pubDate>Mon, 0{i + 1} Jun 2026 10:00:00 GMT</pubDate></item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example/{title}</link>{entries}</channel></rss>"
    ).encode()


def opml(urls: list[str]) -> bytes:
    outlines = "".join(
        f'<outline type="rss" text="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(urls)
    )
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'.encode()


def counts(tidings: Tidings) -> tuple[int, int, int]:
    """(sources, subscriptions, articles) stored."""
    with tidings.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (sources, subscriptions, articles)
        )


def reader(tidings: Tidings) -> str:
    name = f"reader {next(_names)}"
    tidings.sign_up(name, "correct horse battery")
    return name


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as server:
        yield server


# -- class 6: an OPML import has bounds ----------------------------------------------------


def test_a_30000_feed_opml_import_is_capped_prompt_fetches_nothing_and_others_can_sign_up(
    tidings: Tidings, site: Site
) -> None:
    """One reader's enormous OPML list: the request answers within seconds, adds at most the
    per-reader cap (saying how many were left out), fetches none of the URLs itself, and
    other readers can sign up while it is being written."""
    from tidings.web import create_app

    api = TestClient(create_app(tidings))
    token = api.post("/api/v1/accounts", json={"name": "hoarder", "password": "correct horse"})
    me = {"Authorization": f"Bearer {token.json()['token']}"}
    api.cookies.clear()
    body = opml([f"{site.url}/feeds/{i}.xml" for i in range(30_000)])
    answer: dict[str, Any] = {}

    def run_import() -> None:
        started = time.monotonic()
        answer["response"] = api.post("/api/v1/sources/opml", content=body, headers=me)
        answer["seconds"] = time.monotonic() - started

    importing = threading.Thread(target=run_import, daemon=True)
    sign_ups: list[str] = []
    with Tidings(tidings.database_url) as other:  # another connection pool, as another worker
        importing.start()
        while importing.is_alive() and len(sign_ups) < 50:
            try:
                reader(other)
                sign_ups.append("ok")
            except Exception as exc:  # "database is locked" is what readers saw
                sign_ups.append(f"{type(exc).__name__}: {exc}")
        importing.join(timeout=120)
    assert not importing.is_alive(), "the import did not finish within two minutes"
    response = answer["response"]
    assert response.status_code == 201, response.text
    assert answer["seconds"] < 60  # loose: it took 100-144 s unbounded
    assert sign_ups and all(outcome == "ok" for outcome in sign_ups), sign_ups[:3]
    reply = response.json()
    assert len(reply["items"]) == 1000
    assert reply["left_out"] == 29_000
    assert "1,000" in " ".join(reply["warnings"])
    assert len(tidings.subscriptions("hoarder")) == 1000
    assert site.seen == []  # the request fetched nothing: the poller will, at its own pace


def test_an_import_over_the_cap_adds_up_to_it_and_says_how_many_were_left_out(
    tidings: Tidings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDINGS_MAX_SOURCES_PER_READER", "3")
    name = reader(tidings)
    urls = [f"{site.url}/feeds/{i}.xml" for i in range(5)]
    first = tidings.import_opml(opml(urls[:2]), reader=name)
    assert [new for _, new in first] == [True, True] and first.left_out == 0
    again = tidings.import_opml(opml(urls), reader=name)  # two known, one more fits
    assert [(s.url, new) for s, new in again] == [(u, u == urls[2]) for u in urls[:3]]
    assert again.left_out == 2
    assert any("2 feeds were left out" in w and "at most 3" in w for w in again.warnings)
    assert [s.url for s in tidings.subscriptions(name)] == urls[:3]
    with pytest.raises(InputError, match="at most 3 sources"):
        tidings.subscribe(name, site.serve("/one-more.xml", rss("more"), headers=RSS))
    assert site.seen == []  # refused before fetching it
    assert len(tidings.subscriptions(name)) == 3


def test_imported_feeds_are_fetched_by_the_running_poller_at_once_within_per_host_limits(
    tidings: Tidings, site: Site
) -> None:
    """The server's poller, idle for minutes, is woken by an import and fetches the new
    feeds itself (leases, at most two at once to one host); the reader follows their
    outlets once their first articles are in."""
    name = reader(tidings)
    urls = [
        site.serve(f"/feeds/{i}.xml", rss(f"outlet{i}"), headers=RSS, delay=0.2) for i in range(6)
    ]
    stop = threading.Event()
    poller = tidings.poller(threads=8, per_host=2, understand=False)
    polling = threading.Thread(target=poller.run_forever, args=(stop,), kwargs={"idle": 600})
    polling.start()
    try:
        time.sleep(0.5)  # the poller has found nothing due and sleeps
        imported = tidings.import_opml(opml(urls), reader=name)
        assert all(new for _, new in imported)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and counts(tidings)[2] < 18:
            time.sleep(0.1)
    finally:
        stop.set()
        tidings.shutdown()
        polling.join(timeout=10)
    assert counts(tidings)[2] == 18, "the imported feeds were not fetched within 20 s"
    assert sorted(s.path for s in site.seen) == sorted(f"/feeds/{i}.xml" for i in range(6))
    assert site.most_active <= 2
    assert len(tidings.following(name)["follows"]) == 6


def test_one_readers_feeds_on_a_slow_host_do_not_hold_up_everyone_elses(
    tidings: Tidings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty feeds of one slow host, imported first, take the poller 20 s at two at a time;
    other hosts' feeds are fetched meanwhile, not after them."""
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW", "127.0.0.0/8")
    hoarder = reader(tidings)
    slow = [
        site.serve(f"/slow/{i}.xml", rss(f"slow{i}"), headers=RSS, delay=1.0) for i in range(40)
    ]
    tidings.import_opml(opml(slow), reader=hoarder)
    with Site("127.0.0.2") as elsewhere:
        quick = [elsewhere.serve(f"/q{i}.xml", rss(f"quick{i}"), headers=RSS) for i in range(3)]
        tidings.import_opml(opml(quick), reader=reader(tidings))
        polling = threading.Thread(
            target=tidings.poll, kwargs={"threads": 8, "per_host": 2, "understand": False}
        )
        started = time.monotonic()
        polling.start()
        while len(elsewhere.seen) < 3 and time.monotonic() - started < 30:
            time.sleep(0.05)
        waited = time.monotonic() - started
        tidings.shutdown()
        polling.join(timeout=60)
    assert len(elsewhere.seen) == 3
    assert waited < 5, f"the other host's feeds waited {waited:.1f} s behind the slow host's"
    assert site.most_active <= 2


def test_the_servers_poller_stops_at_once_on_shutdown_even_mid_fetch_of_a_tarpit(
    tidings: Tidings, site: Site
) -> None:
    """A feed that never answers holds a fetch for up to its 60 s deadline; shutting the
    server down must not wait for it (the poll's lease simply expires)."""
    name = reader(tidings)
    held = threading.Event()
    tidings.import_opml(opml([site.serve("/tarpit.xml", rss("t"), hold=held)]), reader=name)
    polling = threading.Thread(
        target=tidings.poller(understand=False).run_forever, args=(tidings.stopping,)
    )
    polling.start()
    try:
        deadline = time.monotonic() + 10
        while site.active == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert site.active == 1, "the poller did not start fetching the tarpit"
        started = time.monotonic()
        tidings.shutdown()
        polling.join(timeout=10)
        assert not polling.is_alive() and time.monotonic() - started < 3
    finally:
        held.set()


def test_shutdown_interrupts_fetching_a_readers_new_sources(tidings: Tidings, site: Site) -> None:
    name = reader(tidings)
    urls = [
        site.serve(f"/slow/{i}.xml", rss(f"slow{i}"), headers=RSS, delay=0.5) for i in range(40)
    ]
    tidings.import_opml(opml(urls), reader=name)
    fetching = threading.Thread(target=tidings.fetch_subscriptions, args=(name,), daemon=True)
    fetching.start()
    time.sleep(1.0)
    started = time.monotonic()
    tidings.shutdown()
    fetching.join(timeout=15)
    assert not fetching.is_alive()
    assert time.monotonic() - started < 5  # 40 slow feeds would take 20 s and more
    assert len(site.seen) < 40


# -- class 3: a subscription that fails stores nothing ------------------------------------


def test_a_feed_nested_50000_deep_is_refused_naming_it_and_nothing_is_stored(
    tidings: Tidings, site: Site
) -> None:
    name = reader(tidings)
    deep = b'{"version": "https://jsonfeed.org/version/1.1", "title": "deep", "items": ['
    deep += b"[" * 50_000 + b"]" * 50_000 + b"]}"
    url = site.serve("/deep.json", deep, headers=JSON_FEED)
    before = counts(tidings)
    with pytest.raises(InputError) as refused:
        tidings.subscribe(name, url)
    assert refused.value.input == url
    assert counts(tidings) == before and tidings.subscriptions(name) == []


def test_a_feed_with_a_lone_surrogate_is_stored_whole_or_refused_leaving_nothing(
    tidings: Tidings, site: Site
) -> None:
    name = reader(tidings)
    feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Half a character \\ud800",'
        b' "items": [{"id": "1", "url": "https://news.example/s/1", "title": "Broken \\udc00 text",'
        b' "content_text": "A story whose title carries a lone surrogate \\ud83d."}]}'
    )
    url = site.serve("/surrogate.json", feed, headers=JSON_FEED)
    before = counts(tidings)
    try:
        source, result = tidings.subscribe(name, url)
    except InputError as exc:
        assert exc.input == url
        assert counts(tidings) == before and tidings.subscriptions(name) == []
    else:
        assert result.status == "ok" and result.added == 1
        assert [s.url for s in tidings.subscriptions(name)] == [url] == [source.url]


@pytest.mark.parametrize("tail", ["\ud800", " and more", "\x00", "\nx"])
def test_a_url_with_a_broken_character_is_refused_before_it_is_fetched(
    tidings: Tidings, site: Site, tail: str
) -> None:
    name = reader(tidings)
    url = site.serve("/fine.xml", rss("fine"), headers=RSS) + tail
    with pytest.raises(InputError, match="may not hold spaces, control characters or broken"):
        tidings.subscribe(name, url)
    assert site.seen == [] and tidings.subscriptions(name) == []


def test_a_subscription_whose_articles_cannot_be_stored_leaves_no_source_behind(
    tidings: Tidings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong while storing (here: the third article), the source, the
    subscription and the articles before it are all undone, and the error names the URL."""
    name = reader(tidings)
    url = site.serve("/breaks.xml", rss("breaks", items=5), headers=RSS)
    real_save = article_store.save_many

    def save(connection: Any, batch: Any, **kwargs: Any) -> Any:
        real_save(connection, batch[:2], **kwargs)  # two articles stored, the third fails
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(article_store, "save_many", save)
    before = counts(tidings)
    with pytest.raises(InputError) as refused:
        tidings.subscribe(name, url)
    assert refused.value.input == url and "could not be stored" in refused.value.problem
    assert counts(tidings) == before and tidings.subscriptions(name) == []


def test_the_api_answers_422_not_500_for_a_feed_or_url_that_breaks_the_parser(
    tidings: Tidings, site: Site
) -> None:
    from tidings.web import create_app

    api = TestClient(create_app(tidings), raise_server_exceptions=False)
    token = api.post("/api/v1/accounts", json={"name": "prober", "password": "correct horse"})
    me = {"Authorization": f"Bearer {token.json()['token']}"}
    api.cookies.clear()
    deep = b'{"version": "https://jsonfeed.org/version/1", "items": [' + b"[" * 50_000
    url = site.serve("/deep.json", deep + b"]" * 50_000 + b"]}", headers=JSON_FEED)
    answer = api.post("/api/v1/sources", json={"url": url}, headers=me)
    assert answer.status_code == 422, answer.text
    broken = site.serve("/surrogate.json", b"{}", headers=JSON_FEED) + "?\\ud800"
    body = b'{"url": "' + broken.encode() + b'"}'  # a lone surrogate, as JSON may write it
    answer = api.post(
        "/api/v1/sources", content=body, headers={**me, "Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert "surrogate" in answer.text or "broken characters" in answer.text
    assert api.get("/api/v1/sources", headers=me).json()["items"] == []
    assert site.paths() == ["/deep.json"]  # the broken URL was refused before fetching


def test_one_input_that_breaks_reading_is_its_own_error_and_the_rest_go_in(
    tidings: Tidings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tidings.ingest import pipeline

    good = [site.serve(f"/good{i}.xml", rss(f"good{i}"), headers=RSS) for i in range(2)]
    bad = f"{site.url}/bad.xml"
    real_read = pipeline.read

    def read(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == bad:
            raise RecursionError("maximum recursion depth exceeded")
        return real_read(name, *args, **kwargs)

    monkeypatch.setattr(pipeline, "read", read)
    results = list(tidings.ingest([good[0], bad, good[1]]))
    assert [r.status for r in results] == ["ok", "error", "ok"]
    assert results[1].input == bad and (results[1].error or "").startswith(f"{bad}: ")
    assert results[2].added == 3


# -- class 11: a refusal does not say where a name points -----------------------------------


@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1", "169.254.169.254", "fd00::1"])
def test_a_refused_host_name_does_not_reveal_the_address_it_resolves_to(address: str) -> None:
    with pytest.raises(guard.AddressRefused) as refused:
        guard.check_address("intranet.example", address, guard.NOTHING_ALLOWED)
    message = str(refused.value)
    assert "refused" in message and "not a public address" in message
    assert "intranet.example" in message
    assert address not in message
    for kind in ("private", "loopback", "metadata", "link-local"):
        assert kind not in message


def test_a_host_name_resolving_only_inside_is_refused_without_its_address() -> None:
    with pytest.raises(guard.AddressRefused) as refused:
        guard.allowed_addresses("intranet.example", ["10.0.0.7", "::1"], guard.NOTHING_ALLOWED)
    assert "10.0.0.7" not in str(refused.value) and "::1" not in str(refused.value)
    assert "not a public address" in str(refused.value)
