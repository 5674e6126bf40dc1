"""Polling against real HTTP servers on 127.0.0.1 serving the real feeds: schedules, 304s,
backoff, Retry-After, a feed that changes between polls, the per-host limit, and (on
PostgreSQL) two workers racing and a worker killed mid-poll."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.conftest import BACKENDS, fresh_database
from tests.httpd import Route, Site
from tidings.library import Tidings
from tidings.poll import schedule
from tidings.store.schema import articles, sources

FEEDS = ("guardian.rss", "heise.atom", "json_feed.json", "TechCrunch.xml")
HOUR = 3600


def _add(tidings: Tidings, url: str) -> None:
    """Add a source whose entries' pages are never fetched: these real feeds link to public
    sites, and tests never reach the internet (tests/test_fulltext.py covers full text)."""
    source, _ = tidings.add_source(url)
    tidings.set_full_text(str(source.id), "never")


@pytest.fixture
def site() -> Iterator[Site]:
    """A server whose every feed can be told how to answer (tests/httpd.py)."""
    with Site() as server:
        yield server


def feed(shared: Path, name: str) -> bytes:
    return (shared / "data/feeds" / name).read_bytes()


def add_feeds(tidings: Tidings, site: Site, shared: Path, names: tuple[str, ...] = FEEDS) -> None:
    for name in names:
        _add(tidings, site.serve(f"/{name}", feed(shared, name)))


def health(tidings: Tidings, url: str):  # type: ignore[no-untyped-def]
    return next(s for s in tidings.sources() if s.url == url).health


def article_count(tidings: Tidings) -> int:
    with tidings.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(articles)).scalar_one()


def make_due(tidings: Tidings) -> None:
    with tidings.engine.begin() as connection:
        connection.execute(update(sources).values(next_poll_at=None))


# -- the schedule: pure arithmetic ------------------------------------------------------------


def test_the_interval_follows_how_often_a_source_publishes_within_bounds() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    hourly = [now - timedelta(hours=h) for h in range(20)]
    rate = schedule.publishing_rate(hourly, now)
    assert rate is not None and 23 < rate < 25
    assert 55 * 60 < schedule.adapted_interval(rate) < 65 * 60
    every_minute = [now - timedelta(minutes=m) for m in range(20)]
    assert schedule.adapted_interval(schedule.publishing_rate(every_minute, now)) == 600
    yearly = [now - timedelta(days=365 * y) for y in range(1, 4)]
    assert schedule.adapted_interval(schedule.publishing_rate(yearly, now)) == 86400
    # fewer than two dates (or only future ones) say nothing: the interval stays
    assert schedule.publishing_rate([now, None], now) is None
    assert schedule.publishing_rate([now + timedelta(days=3)] * 5, now) is None
    assert schedule.adapted_interval(None, 7200) == 7200


def test_backoff_doubles_per_consecutive_error_up_to_a_day() -> None:
    assert [schedule.backoff(3600, e) for e in range(7)] == [
        3600, 7200, 14400, 28800, 57600, 86400, 86400,
    ]  # fmt: skip
    assert schedule.backoff(600, 1) == 1200
    assert schedule.backoff(600, 1000) == 86400


def test_retry_after_in_seconds_or_as_a_date_and_slow_down_statuses() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert schedule.retry_after_seconds("120", now) == 120
    later = format_datetime(now + timedelta(hours=3), usegmt=True)
    assert schedule.retry_after_seconds(later, now) == 3 * HOUR
    past = format_datetime(now - timedelta(hours=3), usegmt=True)
    assert schedule.retry_after_seconds(past, now) == 0
    assert schedule.retry_after_seconds("soon", now) is None
    assert schedule.retry_after_seconds(None, now) is None
    assert schedule.retry_after_seconds("999999999", now) == 7 * 86400
    # Retry-After longer than the backoff wins; 429/503 wait at least an hour
    assert schedule.after_error(now, interval=600, errors=1, retry_after="10000") == now + (
        timedelta(seconds=10000)
    )
    assert schedule.after_error(now, interval=600, errors=1, status=429) == now + timedelta(hours=1)
    assert schedule.after_error(now, interval=600, errors=1, status=500) == now + timedelta(
        seconds=1200
    )


# -- one worker -----------------------------------------------------------------------------


def test_poll_once_fetches_due_sources_then_asks_conditionally(
    tidings: Tidings, site: Site, shared: Path
) -> None:
    add_feeds(tidings, site, shared)
    report = tidings.poll(understand=False)
    assert (report.fetched, report.not_modified, report.errors) == (4, 0, 0)
    stored = article_count(tidings)
    assert report.added == stored == 55 + 15 + 20 + 20
    for source in tidings.sources():
        h = source.health
        assert h.status == "ok" and h.last_status == 200 and h.errors == 0
        assert h.last_success is not None and h.next_poll is not None
        assert h.next_poll > datetime.now(UTC) + timedelta(minutes=9)
        assert not h.polling_now
        assert source.to_dict()["health"]["next_poll"] == h.next_poll.isoformat()
    # these feeds are years old: each is polled at the slowest rate, once a day
    assert {s.health.interval_seconds for s in tidings.sources()} == {86400}
    assert all(s.health.items_per_day and s.health.items_per_day < 1 for s in tidings.sources())

    assert tidings.poll(understand=False).outcomes == []  # nothing is due
    report = tidings.poll(everything=True, understand=False)  # --all: still conditional
    assert (report.fetched, report.not_modified, report.added) == (0, 4, 0)
    assert sum(site.not_modified.values()) == 4 and sum(site.hits.values()) == 8
    assert article_count(tidings) == stored
    assert all(s.health.last_status == 304 for s in tidings.sources())


def test_the_interval_adapts_to_a_busy_feed(tidings: Tidings, site: Site, shared: Path) -> None:
    add_feeds(tidings, site, shared, ("TechCrunch.xml",))  # 20 entries within 5 hours
    newest = datetime(2011, 11, 2, 17, 25, 27, tzinfo=UTC)
    report = tidings.poll(understand=False, clock=lambda: newest + timedelta(hours=1), jitter=0)
    assert report.fetched == 1
    (source,) = tidings.sources()
    assert 60 < source.health.items_per_day < 90
    assert 15 * 60 < source.health.interval_seconds < 25 * 60
    assert source.health.next_poll == source.health.last_success + timedelta(
        seconds=source.health.interval_seconds
    )


def test_errors_back_off_exponentially_and_success_resets_them(
    tidings: Tidings, site: Site, shared: Path
) -> None:
    url = site.serve("/broken.rss", b"", status=500)
    _add(tidings, url)
    waits = []
    for n in range(1, 4):
        report = tidings.poll(everything=True, understand=False)
        assert report.errors == 1 and "HTTP 500" in (report.outcomes[0].error or "")
        h = health(tidings, url)
        assert h.errors == n and h.last_status == 500 and h.status != "ok"
        assert h.last_success is None and "HTTP 500" in (h.error or "")
        assert h.last_error is not None and h.next_poll is not None
        waits.append(round((h.next_poll - h.last_error).total_seconds()))
    assert waits == [7200, 14400, 28800]
    site.routes["/broken.rss"] = Route(feed(shared, "heise.atom"))
    assert tidings.poll(everything=True, understand=False).added == 15
    h = health(tidings, url)
    assert h.errors == 0 and h.status == "ok" and h.last_success is not None
    assert "HTTP 500" in (h.error or "")  # the last error stays visible, as history


def test_retry_after_and_slow_down_statuses_push_the_next_poll(
    tidings: Tidings, site: Site
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=5), usegmt=True)
    limited = site.serve("/limited", b"", status=429, headers={"Retry-After": "30000"})
    dated = site.serve("/dated", b"", status=503, headers={"Retry-After": later})
    bare = site.serve("/bare", b"", status=503)
    for url in (limited, dated, bare):
        _add(tidings, url)
    before = datetime.now(UTC)
    report = tidings.poll(understand=False)
    assert report.errors == 3
    assert health(tidings, limited).next_poll >= before + timedelta(seconds=30000)
    assert health(tidings, dated).next_poll >= before + timedelta(hours=5, seconds=-2)
    assert health(tidings, bare).next_poll >= before + timedelta(hours=1)
    assert health(tidings, limited).last_status == 429
    assert tidings.poll(understand=False).outcomes == []  # none is tried again early


def _entries(body: bytes) -> tuple[bytes, list[bytes], bytes]:
    head, *rest = body.split(b"<item>")
    *items, last = rest
    last, tail = last.split(b"</channel>")
    return head, [b"<item>" + i for i in [*items, last]], b"</channel>" + tail


def test_a_feed_that_changes_between_polls(tidings: Tidings, site: Site, shared: Path) -> None:
    head, items, tail = _entries(feed(shared, "guardian.rss"))
    assert len(items) == 55
    url = site.serve("/guardian.rss", head + b"".join(items[3:]) + tail)
    _add(tidings, url)
    assert tidings.poll(understand=False).added == 52
    changed = re.sub(
        rb"<title>[^<]*</title>", b"<title>A corrected headline</title>", items[10], count=1
    )
    site.routes["/guardian.rss"] = Route(
        head + b"".join([*items[:10], changed, *items[11:]]) + tail
    )
    report = tidings.poll(everything=True, understand=False)
    assert (report.fetched, report.added, report.updated) == (1, 3, 1)
    assert article_count(tidings) == 55
    assert [a.title for a in tidings.articles(limit=100)].count("A corrected headline") == 1
    assert tidings.poll(everything=True, understand=False).not_modified == 1
    assert article_count(tidings) == 55


def test_at_most_per_host_fetches_at_once(tidings: Tidings, site: Site, shared: Path) -> None:
    body = feed(shared, "heise.atom")
    for n in range(8):
        _add(tidings, site.serve(f"/slow/{n}", body, delay=0.2))
    report = tidings.poll(understand=False, threads=8, per_host=2)
    assert report.fetched == 8 and site.most_active == 2


def test_a_parse_error_is_an_error_with_backoff(tidings: Tidings, site: Site) -> None:
    url = site.serve("/garbage", b"\x00\x01 not a feed at all")
    _add(tidings, url)
    report = tidings.poll(understand=False)
    assert report.errors == 1
    h = health(tidings, url)
    assert h.errors == 1 and h.last_status == 200 and h.error


def test_cli_poll_once_and_sources_list_show_health(
    site: Site, shared: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from tidings.cli import app

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    with Tidings(db) as tidings:
        add_feeds(tidings, site, shared, ("heise.atom", "json_feed.json"))
        _add(tidings, site.serve("/gone", b"", status=404))
    result = runner.invoke(app, ["poll", "--once", "--no-understand", "--db", db])
    assert result.exit_code == 0, result.output
    assert "3 sources polled" in result.output and "35" in result.output
    result = runner.invoke(app, ["poll", "--all", "--json", "--no-understand", "--db", db])
    summary = json.loads(result.output)
    assert (summary["not_modified"], summary["errors"], summary["added"]) == (2, 1, 0)
    result = runner.invoke(app, ["sources", "list", "--db", db])
    assert result.exit_code == 0 and "HTTP 404" in result.output
    result = runner.invoke(app, ["sources", "list", "--json", "--db", db])
    listed = {s["url"].rsplit("/", 1)[1]: s["health"] for s in json.loads(result.output)}
    assert listed["gone"]["errors"] == 2 and listed["gone"]["status"] == "backing off"
    assert listed["gone"]["last_status"] == 404 and "HTTP 404" in listed["gone"]["error"]
    assert listed["heise.atom"]["status"] == "ok" and listed["heise.atom"]["last_status"] == 304


def test_serve_style_background_polling_stops_when_asked(
    tidings: Tidings, site: Site, shared: Path
) -> None:
    add_feeds(tidings, site, shared, ("heise.atom",))
    stop = threading.Event()
    rounds = []
    poller = tidings.poller(understand=False)
    thread = threading.Thread(
        target=poller.run_forever, args=(stop,), kwargs={"on_round": rounds.append}
    )
    thread.start()
    deadline = time.monotonic() + 20
    while not rounds and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert rounds and rounds[0].added == 15
    assert site.hits["/heise.atom"] == 1


# -- many workers ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_poll_each_source_once_per_round(
    backend: str, site: Site, shared: Path, tmp_path: Path
) -> None:
    names = ("guardian.rss", "heise.atom", "json_feed.json", "TechCrunch.xml", "reddit.rss")
    with fresh_database(backend, tmp_path) as url, Tidings(url) as one, Tidings(url) as two:
        urls = []
        for copy in range(3):  # the same feeds thrice: the workers store the same articles
            for name in names:
                urls.append(site.serve(f"/{copy}/{name}", feed(shared, name), delay=0.05))
                _add(one, urls[-1])
        start = threading.Barrier(2)
        reports = {}

        def work(name: str, tidings: Tidings) -> None:
            start.wait()
            reports[name] = tidings.poll(understand=False, threads=4, per_host=4)

        workers = [threading.Thread(target=work, args=p) for p in (("one", one), ("two", two))]
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
        assert set(site.hits.values()) == {1} and len(site.hits) == len(urls)
        polled = [o.url for r in reports.values() for o in r.outcomes]
        assert sorted(polled) == sorted(urls)
        assert all(r.outcomes for r in reports.values())  # both did a share
        assert sum(r.errors for r in reports.values()) == 0
        assert (
            sum(r.added for r in reports.values()) == article_count(one) == 55 + 15 + 20 + 20 + 24
        )
        with one.engine.connect() as connection:
            keys = connection.execute(select(articles.c.canonical_url)).scalars().all()
            held = connection.execute(
                select(func.count()).where(sources.c.lease_owner.is_not(None))
            ).scalar_one()
        assert len(keys) == len(set(keys)) and held == 0
        # the next round polls nothing: every source is scheduled ahead
        assert one.poll(understand=False).outcomes == two.poll(understand=False).outcomes == []


@pytest.mark.postgres
def test_a_killed_worker_s_sources_are_taken_over_when_its_lease_expires(
    site: Site, shared: Path, tmp_path: Path
) -> None:
    with fresh_database("postgresql", tmp_path) as url, Tidings(url) as tidings:
        hold = threading.Event()
        first = site.serve("/first.atom", feed(shared, "heise.atom"))
        held = site.serve("/held.json", feed(shared, "json_feed.json"), hold=hold)
        third = site.serve("/third.rss", feed(shared, "reddit.rss"))
        for source in (first, held, third):
            _add(tidings, source)
        command = [
            sys.executable, "-m", "tidings", "poll", "--once", "--no-understand",
            "--worker-threads", "1", "--lease-seconds", "4", "--db", url,
        ]  # fmt: skip
        worker = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy()
        )
        try:
            deadline = time.monotonic() + 60
            while site.hits["/held.json"] == 0 and time.monotonic() < deadline:
                assert worker.poll() is None, "the worker ended before reaching the held feed"
                time.sleep(0.05)
            assert site.hits["/held.json"] == 1
            killed_at = time.monotonic()
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        hold.set()  # the feed answers from now on
        # its lease is live: another worker leaves it alone for now
        report = tidings.poll(understand=False, lease_seconds=30)
        assert held not in [o.url for o in report.outcomes]
        assert health(tidings, held).polling_now
        time.sleep(max(0.0, 4.5 - (time.monotonic() - killed_at)))
        report = tidings.poll(understand=False, lease_seconds=30)
        assert held in [o.url for o in report.outcomes]
        assert site.hits["/first.atom"] == site.hits["/third.rss"] == 1
        assert site.hits["/held.json"] == 2
        assert all(s.health.status == "ok" for s in tidings.sources())
        assert article_count(tidings) == 15 + 20 + 24
        with tidings.engine.connect() as connection:
            held_leases = connection.execute(
                select(func.count()).where(sources.c.lease_owner.is_not(None))
            ).scalar_one()
        assert held_leases == 0
