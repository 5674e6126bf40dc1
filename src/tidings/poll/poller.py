"""The polling loop: claim due sources, fetch them conditionally, ingest what changed,
schedule the next poll, give the lease back.

Fetches run in up to ``threads`` (8) daemon threads at once, with at most ``per_host`` (2)
at a time to any one host. That limit holds within one worker: several workers each keep
to it, so a host may see ``per_host`` fetches from each.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine

from tidings.errors import FetchError, describe
from tidings.ingest.fetch import HTTPStatusError, fetch_conditional
from tidings.poll import leases, polled, schedule
from tidings.poll.leases import Claim

Status = Literal["fetched", "not_modified", "error"]
LEASE_SECONDS = 300.0  # longer than a fetch may take (60 s) plus storing what it brought
THREADS = 8
PER_HOST = 2
MAX_ERROR_CHARS = 500


def _now() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    """Names this worker in the leases it holds: host, process and a random part."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class SourceOutcome:
    """What polling one source did."""

    source_id: int
    url: str
    status: Status
    http_status: int | None = None
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    next_poll: datetime | None = None
    seconds: float = 0.0
    recorded: bool = True  # False: the lease had passed to another worker; nothing written
    warnings: list[str] = field(default_factory=list)  # e.g. a linked page not fetched

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "url": self.url,
            "status": self.status,
            "http_status": self.http_status,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "error": self.error,
            "next_poll": self.next_poll.isoformat() if self.next_poll else None,
            "seconds": round(self.seconds, 3),
            "warnings": list(self.warnings),
        }


@dataclass(slots=True)
class PollReport:
    """One round: every source polled, and the understanding run after it (if any)."""

    outcomes: list[SourceOutcome] = field(default_factory=list)
    seconds: float = 0.0
    understood: int = 0

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def fetched(self) -> int:
        return self.count("fetched")

    @property
    def not_modified(self) -> int:
        return self.count("not_modified")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def added(self) -> int:
        return sum(o.added for o in self.outcomes)

    @property
    def updated(self) -> int:
        return sum(o.updated for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "polled": len(self.outcomes),
            "fetched": self.fetched,
            "not_modified": self.not_modified,
            "errors": self.errors,
            "added": self.added,
            "updated": self.updated,
            "understood": self.understood,
            "seconds": round(self.seconds, 3),
            "sources": [o.to_dict() for o in self.outcomes],
        }


class Poller:
    """Polls the sources of one store. Any number of pollers (threads, processes, machines)
    may share a PostgreSQL store; each source is polled by one of them at a time.

    ``run_once()`` polls what is due now and returns; ``run_forever(stop)`` keeps doing so
    until ``stop`` is set (what ``tidings poll`` and a background thread of the web app
    run); setting ``wake`` ends its wait between rounds early (sources were just added).
    After a round that stored new or changed articles it calls ``on_new_articles`` (the
    library passes its ``understand``), which answers how many articles it handled.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        on_new_articles: Callable[[], int] | None = None,
        wake: threading.Event | None = None,
        threads: int = THREADS,
        per_host: int = PER_HOST,
        lease_seconds: float = LEASE_SECONDS,
        timeout: float = 20.0,
        deadline: float = 60.0,
        jitter: float = 0.05,
        owner: str | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        if threads < 1 or per_host < 1:
            raise ValueError("threads and per_host must be at least 1")
        self.engine = engine
        self.on_new_articles = on_new_articles
        self.wake = wake
        self.threads = threads
        self.per_host = per_host
        self.lease_seconds = lease_seconds
        self.timeout = timeout
        self.deadline = min(deadline, lease_seconds / 2)
        self.jitter = jitter
        self.owner = owner or worker_name()
        self.clock = clock

    # -- the loops ----------------------------------------------------------------------

    def due_count(self, *, everything: bool = False) -> int:
        with self.engine.connect() as connection:
            return leases.due_count(connection, now=self.clock(), everything=everything)

    def run_once(
        self,
        *,
        everything: bool = False,
        progress: Callable[[SourceOutcome], None] | None = None,
        stop: threading.Event | None = None,
    ) -> PollReport:
        """Poll every source due now (every source with ``everything``, schedules ignored
        but still conditionally), each at most once, then return."""
        started = time.monotonic()
        round_start = self.clock()
        report = PollReport()
        capacity = self.threads * 2
        pending: deque[Claim] = deque()
        inflight: dict[Future[SourceOutcome], Claim] = {}
        per_host: Counter[str] = Counter()
        exhausted = False
        try:
            while True:
                stopping = stop is not None and stop.is_set()
                if stopping and not exhausted:
                    exhausted = True
                    self._release([c.id for c in pending])
                    pending.clear()
                if not exhausted and len(pending) + len(inflight) <= self.threads:
                    crowded = self._crowded(pending, per_host)
                    claimed = self._claim(
                        capacity - len(pending) - len(inflight),
                        everything,
                        round_start,
                        skip_hosts=crowded,
                    )
                    # nothing left but sources of busy hosts: claim again once one is done
                    exhausted = not claimed and not crowded
                    pending.extend(claimed)
                    if self._thin(pending, per_host):
                        continue  # claim again at once, past the crowded hosts
                self._dispatch(pending, inflight, per_host)
                if not inflight:
                    if exhausted and not pending:
                        break
                    continue
                if stopping:
                    break  # fetches under way finish (or the process exits) on their own
                done, _ = wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    claim = inflight.pop(future)
                    per_host[claim.host] -= 1
                    outcome = future.result()
                    report.outcomes.append(outcome)
                    if progress is not None:
                        progress(outcome)
        finally:  # an error or an interrupt: give back what was claimed, not polled
            self._release([c.id for c in pending])
        stopped = stop is not None and stop.is_set()
        if self.on_new_articles is not None and (report.added or report.updated) and not stopped:
            report.understood = self.on_new_articles()  # not on shutdown: it may take minutes
        report.seconds = time.monotonic() - started
        return report

    def run_forever(
        self,
        stop: threading.Event,
        *,
        idle: float = 30.0,
        on_round: Callable[[PollReport], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """Poll what falls due, round after round, until ``stop`` is set. Between rounds it
        sleeps until the next source is due (at most ``idle`` seconds, so that sources
        added meanwhile by other processes are picked up), or until ``wake`` is set. A
        round that fails (the database is away) is reported to ``on_error`` and retried
        after ``idle`` seconds."""
        while not stop.is_set():
            try:
                report = self.run_once(stop=stop)
                if on_round is not None and report.outcomes:
                    on_round(report)
                wait_for = self._until_next_due(idle)
            except Exception as exc:  # the loop outlives a lost connection
                if on_error is None:
                    raise
                on_error(exc)
                wait_for = idle
            self._sleep(stop, wait_for)
        self.release()

    def _sleep(self, stop: threading.Event, seconds: float) -> None:
        """Wait ``seconds``, or less if ``stop`` or ``wake`` is set meanwhile."""
        if self.wake is None:
            stop.wait(seconds)
            return
        until = time.monotonic() + seconds
        while not stop.is_set() and not self.wake.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return
            self.wake.wait(min(left, 0.5))  # stop is checked at least twice a second
        self.wake.clear()

    def release(self) -> None:
        """Give back every lease this poller holds (on shutdown; a killed worker's leases
        simply expire)."""
        self._release(None)

    def _until_next_due(self, idle: float) -> float:
        now = self.clock()
        with self.engine.connect() as connection:
            due = leases.next_due(connection, now=now)
        if due is None:
            return idle
        return min(max((due - now).total_seconds(), 0.5), idle)

    # -- claiming -------------------------------------------------------------------------

    def _claim(
        self,
        limit: int,
        everything: bool,
        round_start: datetime,
        *,
        skip_hosts: frozenset[str] = frozenset(),
    ) -> list[Claim]:
        with self.engine.begin() as connection:
            return leases.claim(
                connection,
                self.owner,
                limit=limit,
                now=self.clock(),
                lease_seconds=self.lease_seconds,
                everything=everything,
                round_start=round_start,
                skip_hosts=skip_hosts,
            )

    def _held(self, pending: deque[Claim], per_host: Counter[str]) -> Counter[str]:
        """Claims this round holds per host: waiting or being fetched."""
        return Counter(c.host for c in pending) + per_host

    def _crowded(self, pending: deque[Claim], per_host: Counter[str]) -> frozenset[str]:
        """Hosts this round holds claims enough for to keep their per-host slots busy:
        claiming more of them would only make them wait, while other hosts' sources could
        be fetched."""
        held = self._held(pending, per_host)
        return frozenset(h for h, n in held.items() if n >= self.per_host)

    def _thin(self, pending: deque[Claim], per_host: Counter[str]) -> int:
        """Give back claims beyond twice the per-host limit for one host (still due, for a
        later claim): one reader's thousand feeds on one slow host must not fill every
        slot of the round while everyone else's sources wait behind them. Returns how many
        were given back."""
        held = Counter(+per_host)
        kept: deque[Claim] = deque()
        extra: list[int] = []
        for claim in pending:
            if held[claim.host] >= self.per_host * 2:
                extra.append(claim.id)
                continue
            held[claim.host] += 1
            kept.append(claim)
        if extra:
            self._release(extra)
            pending.clear()
            pending.extend(kept)
        return len(extra)

    def _release(self, ids: list[int] | None) -> None:
        if ids is not None and not ids:
            return
        with self.engine.begin() as connection:
            leases.release(connection, self.owner, ids)

    def _dispatch(
        self,
        pending: deque[Claim],
        inflight: dict[Future[SourceOutcome], Claim],
        per_host: Counter[str],
    ) -> None:
        """Start fetches while threads are free, keeping to the per-host limit; a claim
        that waited long for its host has its lease renewed first."""
        waiting: deque[Claim] = deque()
        while pending and len(inflight) < self.threads:
            claim = pending.popleft()
            if per_host[claim.host] >= self.per_host:
                waiting.append(claim)
                continue
            claim = self._fresh(claim)
            if claim is None:
                continue
            per_host[claim.host] += 1
            inflight[self._start(claim)] = claim
        pending.extendleft(reversed(waiting))

    def _fresh(self, claim: Claim) -> Claim | None:
        now = self.clock()
        if (now - claim.claimed_at).total_seconds() < self.lease_seconds / 2:
            return claim
        with self.engine.begin() as connection:
            kept = leases.renew(
                connection, self.owner, [claim.id], now=now, lease_seconds=self.lease_seconds
            )
        if claim.id not in kept:
            return None  # another worker took it over
        return replace(claim, claimed_at=now)

    # -- one source ---------------------------------------------------------------------

    def _start(self, claim: Claim) -> Future[SourceOutcome]:
        """Poll one source in a daemon thread. A fetch held by a slow host (up to its
        deadline) must not keep the process from exiting on shutdown, as a pool's threads,
        joined at exit, would; a poll cut short that way leaves a lease that expires."""
        future: Future[SourceOutcome] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self._poll(claim))
            except BaseException as exc:  # handed to the round, which re-raises it
                future.set_exception(exc)

        threading.Thread(target=run, name=f"tidings-poll-{claim.id}", daemon=True).start()
        return future

    def _poll(self, claim: Claim) -> SourceOutcome:
        started = time.monotonic()
        try:
            outcome, values = self._fetch_and_store(claim)
        except Exception as exc:  # a bug or a lost database: report it, keep polling others
            outcome = SourceOutcome(
                claim.id, claim.url, "error", error=describe(exc, MAX_ERROR_CHARS)
            )
            values = self._error_values(claim, outcome.error or "", None, None)
        outcome.next_poll = values.get("next_poll_at")
        try:
            with self.engine.begin() as connection:
                outcome.recorded = leases.finish(connection, self.owner, claim.id, values)
        except Exception as exc:  # the database went away: the lease will expire
            outcome.recorded = False
            outcome.status = "error"
            outcome.error = f"could not record the poll: {describe(exc, MAX_ERROR_CHARS)}"
        outcome.seconds = time.monotonic() - started
        return outcome

    def _fetch_and_store(self, claim: Claim) -> tuple[SourceOutcome, dict[str, Any]]:
        try:
            fetched = fetch_conditional(
                claim.url,
                etag=claim.etag,
                last_modified=claim.last_modified,
                timeout=self.timeout,
                deadline=self.deadline,
            )
        except HTTPStatusError as exc:
            outcome = SourceOutcome(claim.id, claim.url, "error", exc.status, error=str(exc))
            return outcome, self._error_values(claim, str(exc), exc.status, exc.retry_after)
        except FetchError as exc:
            outcome = SourceOutcome(claim.id, claim.url, "error", error=str(exc))
            return outcome, self._error_values(claim, str(exc), None, None)
        now = self.clock()
        if fetched.not_modified:
            outcome = SourceOutcome(claim.id, claim.url, "not_modified", fetched.status)
            values = schedule.success_values(
                now, fetched.status, claim.interval_seconds, jitter=self.jitter
            )
            values.update(etag=fetched.etag, last_modified=fetched.last_modified)
            return outcome, values
        assert fetched.document is not None
        # linked pages for full text: within a quarter of the lease, after the feed's half
        budget = min(self.deadline, self.lease_seconds / 4)
        result, published = polled.ingest(
            self.engine, fetched.document, claim.url, full_text=claim.full_text, budget=budget
        )
        if result.status == "error":
            error = result.error or "could not be read"
            outcome = SourceOutcome(claim.id, claim.url, "error", fetched.status, error=error)
            # the new validators are not kept: next time the whole feed comes again
            return outcome, self._error_values(claim, error, fetched.status, None)
        rate = schedule.publishing_rate(published, now)
        interval = schedule.adapted_interval(rate, claim.interval_seconds)
        outcome = SourceOutcome(
            claim.id, claim.url, "fetched", fetched.status,
            added=result.added, updated=result.updated, unchanged=result.unchanged,
            warnings=list(result.warnings),
        )  # fmt: skip
        values = schedule.success_values(now, fetched.status, interval, jitter=self.jitter)
        values.update(etag=fetched.etag, last_modified=fetched.last_modified)
        if rate is not None:
            values["items_per_day"] = rate
        return outcome, values

    def _error_values(
        self, claim: Claim, error: str, status: int | None, retry_after: str | None
    ) -> dict[str, Any]:
        now = self.clock()
        errors = claim.errors + 1
        return {
            "last_polled_at": now,
            "last_status": status,
            "last_error_at": now,
            "last_error": error[:MAX_ERROR_CHARS],
            "errors": errors,
            "next_poll_at": schedule.after_error(
                now,
                interval=claim.interval_seconds,
                errors=errors,
                status=status,
                retry_after=retry_after,
            ),
        }
