"""Understanding spread over workers (``tidings work``), on SQLite and PostgreSQL: batches
claimed under leases, two worker processes at once understanding every article exactly once
and grouping one event into one story, a dead or killed worker's batch taken over once its
lease expires (and not before), a worker that outlived its lease storing nothing, and the
background worker ``tidings serve`` runs."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import BACKENDS, SEED, fresh_database
from tidings.library import Tidings
from tidings.store import claims
from tidings.store.schema import articles, stories
from tidings.understand.pipeline import Understander, UnderstandReport
from tidings.understand.worker import Worker

WIKINEWS = "data/wikinews/wikinews_2004_2018.jsonl"


def _semeval_pair(shared: Path, pair_id: str) -> tuple[str, str]:
    with (shared / "data/stories/semeval2022_train.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["pair_id"] == pair_id:
                return row["text1"], row["text2"]
    raise LookupError(pair_id)


def two_events(shared: Path, folder: Path) -> Path:
    """Two real events, each told by two outlets (SemEval same-story pairs), the two
    tellings of each event next to each other: workers taking one article at a time
    understand them at the same moment."""
    apple_a, apple_b = _semeval_pair(shared, "1484396190_1484349204")
    parade_a, parade_b = _semeval_pair(shared, "1484038289_1484223088")
    rows = [
        {"title": "Apple strikes new deal with UK chip designer it sidelined in 2017",
         "text": apple_a, "url": "https://a.example/apple", "published": "2020-01-02T09:00Z",
         "source": "Outlet A"},
        {"title": "Apple, former partner Imagination Technologies ink new licensing agreement",
         "text": apple_b, "url": "https://b.example/apple", "published": "2020-01-02T15:00Z",
         "source": "Outlet B"},
        {"title": "Rose Parade 2020: See the coolest floats", "text": parade_a,
         "url": "https://a.example/parade", "published": "2020-01-01T18:00Z",
         "source": "Outlet A"},
        {"title": "Watch Live: 131st Rose Parade, a New Year's Day Tradition", "text": parade_b,
         "url": "https://b.example/parade", "published": "2020-01-01T16:00Z",
         "source": "Outlet B"},
    ]  # fmt: skip
    path = folder / "events.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def apple_told_before(shared: Path, folder: Path) -> Path:
    """The Apple tellings again, as if published years earlier under other addresses: once
    understood, the store knows every name and section they bring (a store in use knows
    most), and they are too old to join the 2020 story."""
    rows = [json.loads(line) for line in two_events(shared, folder).read_text().splitlines()]
    for row in rows:
        row["url"] = str(row["url"]).replace(".example/", ".example/2015/")
        row["text"] = f"From our archive. {row['text']}"  # not the same article again
        row["published"] = str(row["published"]).replace("2020", "2015")
    path = folder / "before.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\n", encoding="utf-8")
    return path


def wikinews(shared: Path, folder: Path, count: int = 15) -> Path:
    """The first ``count`` real Wikinews articles, as a JSON Lines file."""
    with (shared / WIKINEWS).open(encoding="utf-8") as lines:
        head = [next(lines) for _ in range(count)]
    path = folder / "wikinews.jsonl"
    path.write_text("".join(head), encoding="utf-8")
    return path


def ingest(tidings: Tidings, *paths: Path) -> int:
    results = list(tidings.ingest([str(p) for p in paths]))
    assert all(r.status == "ok" for r in results)
    return tidings.article_count()


def waiting(tidings: Tidings) -> int:
    with tidings.engine.connect() as connection:
        return claims.waiting_count(connection, now=datetime.now(UTC))


def leased(tidings: Tidings) -> int:
    """Articles with any lease on them, live or expired."""
    with tidings.engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(articles.c.lease_owner.is_not(None))
        ).scalar_one()


def stories_are_whole(tidings: Tidings) -> None:
    """Every article is in a story, and every story counts the articles it holds."""
    with tidings.engine.connect() as connection:
        assert not connection.execute(
            select(func.count()).where(articles.c.story_id.is_(None))
        ).scalar_one()
        held = dict(
            connection.execute(
                select(articles.c.story_id, func.count()).group_by(articles.c.story_id)
            ).all()
        )
        counted = dict(connection.execute(select(stories.c.id, stories.c.article_count)).all())
    assert counted == held


def story_of(tidings: Tidings, url: str) -> int:
    with tidings.engine.connect() as connection:
        return connection.execute(
            select(articles.c.story_id).where(articles.c.url == url)
        ).scalar_one()


def claim_as(tidings: Tidings, owner: str, limit: int, *, lease_seconds: float = 60.0) -> list[int]:
    with tidings.engine.begin() as connection:
        batch = claims.claim(
            connection, owner, limit=limit, now=datetime.now(UTC), lease_seconds=lease_seconds
        )
    return [a.id for a in batch]


def test_work_once_understands_what_waits_and_gives_every_lease_back(
    tidings: Tidings, shared: Path, tmp_path: Path
) -> None:
    total = ingest(tidings, shared / SEED, wikinews(shared, tmp_path))
    report = tidings.work(once=True, batch_size=4)
    assert report.articles == total == 16
    assert waiting(tidings) == leased(tidings) == 0
    stories_are_whole(tidings)
    # understand and work share one path: nothing is left for either
    assert tidings.understand().articles == 0
    assert tidings.work(once=True).articles == 0


def test_everything_is_understood_again_once_in_batches(
    tidings: Tidings, shared: Path, tmp_path: Path
) -> None:
    total = ingest(tidings, shared / SEED, wikinews(shared, tmp_path))
    tidings.understand()
    before = tidings.story_count()
    report = tidings.understand(everything=True)
    assert report.articles == total and report.stories_started == report.stories_joined == 0
    assert tidings.story_count() == before and leased(tidings) == 0


def test_a_dead_worker_s_batch_waits_for_its_lease_then_is_taken_over(
    tidings: Tidings, shared: Path, tmp_path: Path
) -> None:
    total = ingest(tidings, shared / SEED, wikinews(shared, tmp_path))
    held = claim_as(tidings, "dead-worker", 5)  # it claimed, then died
    report = tidings.work(once=True, batch_size=4)
    assert report.articles == total - 5
    assert waiting(tidings) == 0 and leased(tidings) == 5  # its articles wait for the lease
    later = datetime.now(UTC) + timedelta(seconds=61)
    report = tidings.work(once=True, clock=lambda: later)
    assert report.articles == 5
    assert leased(tidings) == 0
    with tidings.engine.connect() as connection:
        understood = connection.execute(
            select(func.count()).where(
                articles.c.id.in_(held), articles.c.understood_at.is_not(None)
            )
        ).scalar_one()
    assert understood == 5
    stories_are_whole(tidings)


def test_a_worker_that_outlived_its_lease_stores_nothing(
    tidings: Tidings, shared: Path, tmp_path: Path
) -> None:
    ingest(tidings, shared / SEED, wikinews(shared, tmp_path))
    understander = Understander()
    slow = Worker(understander, tidings.engine, batch_size=3, owner="slow", lease_seconds=10)
    with tidings.engine.begin() as connection:
        batch = claims.claim(connection, "slow", limit=3, now=datetime.now(UTC), lease_seconds=10)
    # it stalls past its lease; another worker takes its articles over and understands all
    later = datetime.now(UTC) + timedelta(seconds=11)
    Worker(understander, tidings.engine, owner="other", clock=lambda: later).run_once()
    with tidings.engine.connect() as connection:
        before = connection.execute(select(articles.c.id, articles.c.understood_at)).all()
    story_count = tidings.story_count()
    report = UnderstandReport()
    assert not slow.understand(batch, report)
    assert report.articles == report.stories_started == report.stories_joined == 0
    assert "taken over" in report.warnings[0]
    with tidings.engine.connect() as connection:
        after = connection.execute(select(articles.c.id, articles.c.understood_at)).all()
    assert sorted(after) == sorted(before) and tidings.story_count() == story_count
    stories_are_whole(tidings)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_worker_processes_understand_every_article_once_and_group_one_event_once(
    backend: str, shared: Path, tmp_path: Path
) -> None:
    with fresh_database(backend, tmp_path) as url, Tidings(url) as tidings:
        total = ingest(tidings, two_events(shared, tmp_path), shared / SEED)
        command = [sys.executable, "-m", "tidings", "work", "--once", "--json"]
        command += ["--batch-size", "1", "--db", url]
        workers = [
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
            for _ in range(2)
        ]
        reports = []
        for worker in workers:
            out, _ = worker.communicate(timeout=300)
            assert worker.returncode == 0
            reports.append(json.loads(out))
        # each article was stored by exactly one of them: a second time would count twice
        assert sum(r["articles"] for r in reports) == total
        assert all(r["articles"] for r in reports)  # both did a share
        assert waiting(tidings) == leased(tidings) == 0
        stories_are_whole(tidings)
        assert sum(r["stories_started"] for r in reports) == tidings.story_count()
        # the two tellings of an event, understood at the same moment, make one story
        apple = story_of(tidings, "https://a.example/apple")
        parade = story_of(tidings, "https://a.example/parade")
        assert story_of(tidings, "https://b.example/apple") == apple
        assert story_of(tidings, "https://b.example/parade") == parade != apple


def blocked_by(tidings: Tidings, pids: set[int]) -> set[int]:
    """The server processes waiting for a lock one of ``pids`` holds."""
    with tidings.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity"
            " WHERE cardinality(pg_blocking_pids(pid)) > 0"
        ).all()
    return {pid for pid, blockers in rows if pids & set(blockers)}


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.02)


@pytest.mark.postgres
def test_two_workers_grouping_at_the_same_moment_start_one_story_not_two(
    shared: Path, tmp_path: Path
) -> None:
    with fresh_database("postgresql", tmp_path) as url, Tidings(url) as tidings:
        # Names and sections already stored: storing them again makes no worker wait for
        # another (the race is open, as in a store in use).
        ingest(tidings, apple_told_before(shared, tmp_path))
        tidings.understand()
        known = tidings.story_count()
        ingest(tidings, two_events(shared, tmp_path))
        understander = Understander()
        first = Worker(understander, tidings.engine, owner="first")
        second = Worker(understander, tidings.engine, owner="second")
        with tidings.engine.begin() as connection:
            now = datetime.now(UTC)
            (one,) = claims.claim(connection, "first", limit=1, now=now, lease_seconds=60)
            (other,) = claims.claim(connection, "second", limit=1, now=now, lease_seconds=60)
        assert {one.title[:5], other.title[:5]} == {"Apple"}  # two tellings of one event
        with tidings.engine.connect() as blocker:
            # Hold new stories back: the first worker stores its article, looks for stories
            # to join, finds none and waits here to start its own, uncommitted.
            blocker.exec_driver_sql("LOCK TABLE stories IN SHARE MODE")
            held = {blocker.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()}
            threads = [
                threading.Thread(target=w.understand, args=(batch, UnderstandReport()))
                for w, batch in ((first, [one]), (second, [other]))
            ]
            threads[0].start()
            wait_for(lambda: bool(blocked_by(tidings, held)), "the first worker to wait")
            held |= blocked_by(tidings, held)
            # the second worker now stores its article too: it must not look for a story
            # before the first one's is committed
            threads[1].start()
            wait_for(lambda: len(blocked_by(tidings, held)) == 2, "the second worker to wait")
            blocker.rollback()
        for thread in threads:
            thread.join(60)
        assert leased(tidings) == 0
        apple = story_of(tidings, "https://a.example/apple")
        assert story_of(tidings, "https://b.example/apple") == apple
        assert tidings.story_count() == known + 1 and tidings.story(apple).article_count == 2


@pytest.mark.postgres
def test_a_killed_worker_s_batch_is_taken_over_when_its_lease_expires(
    shared: Path, tmp_path: Path
) -> None:
    with fresh_database("postgresql", tmp_path) as url, Tidings(url) as tidings:
        total = ingest(tidings, shared / SEED, wikinews(shared, tmp_path))
        command = [sys.executable, "-m", "tidings", "work", "--batch-size", "100"]
        command += ["--lease-seconds", "4", "--db", url]
        worker = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy()
        )
        try:
            deadline = time.monotonic() + 60
            while not leased(tidings) and time.monotonic() < deadline:
                assert worker.poll() is None, "the worker ended before claiming"
                time.sleep(0.02)
            # it claimed everything and is loading its models: kill it there
            os.kill(worker.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert leased(tidings) == total and waiting(tidings) == 0
        assert tidings.work(once=True).articles == 0  # its leases are live: left alone
        time.sleep(max(0.0, 4.5 - (time.monotonic() - killed_at)))
        assert tidings.work(once=True).articles == total
        assert waiting(tidings) == leased(tidings) == 0
        stories_are_whole(tidings)


def test_serve_style_background_work_understands_what_comes_in_and_stops_when_asked(
    tidings: Tidings, shared: Path, tmp_path: Path
) -> None:
    stop = threading.Event()
    rounds: list[UnderstandReport] = []
    thread = threading.Thread(
        target=tidings.work, args=(stop,), kwargs={"idle": 0.05, "on_round": rounds.append}
    )
    thread.start()
    try:
        time.sleep(0.2)  # an idle worker, looking
        total = ingest(tidings, shared / SEED, wikinews(shared, tmp_path))
        deadline = time.monotonic() + 120
        while sum(r.articles for r in rounds) < total and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    assert sum(r.articles for r in rounds) == total
    assert waiting(tidings) == leased(tidings) == 0
    assert tidings.article(1).story_id is not None


def test_understand_follow_is_tidings_work_and_refuses_all(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tidings.cli import app

    url = f"sqlite:///{tmp_path / 'follow.db'}"
    refused = CliRunner().invoke(app, ["understand", "--follow", "--all", "--db", url])
    assert refused.exit_code == 2 and "--follow" in refused.output
