"""The understanding loop of a worker: claim a batch of articles under a lease, understand
it, give the lease back; until nothing is left (``run_once``) or until stopped
(``run_forever``, what ``tidings work`` and ``tidings serve`` run).

Any number of workers (threads, processes, machines) may share a store: each article is
claimed by one of them at a time (:mod:`tidings.store.claims`). While a batch is being
understood a heartbeat renews its leases, so only a worker that died (or hangs) loses them,
once they expire. The batch is stored in a transaction that first takes the grouping lock
and checks the leases are still this worker's: a worker that outlived its lease writes
nothing, and two workers never put articles in stories at the same moment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine

from tidings.errors import describe
from tidings.poll.poller import worker_name
from tidings.store import claims
from tidings.store.understanding import Pending
from tidings.understand.pipeline import BATCH_SIZE, Progress, Understander, UnderstandReport

log = logging.getLogger(__name__)

# Far longer than a batch takes (seconds), since the heartbeat renews it meanwhile: it is
# how long a killed worker's articles wait before another worker takes them over.
LEASE_SECONDS = 60.0
IDLE_SECONDS = 2.0  # between looks for new articles when there is nothing to do
FRESH_SECONDS = 15.0  # during a long backlog, how often the feed is told of new stories


def _now() -> datetime:
    return datetime.now(UTC)


class LeaseLost(Exception):
    """This worker no longer holds some of its batch: another took it over."""


class _Guarded:
    """The engine a batch is stored through: every transaction it begins first runs
    ``check`` on its connection (the grouping lock and the leases); the rest is the
    engine's own."""

    def __init__(self, engine: Engine, check: Callable[[Connection], None]) -> None:
        self._engine = engine
        self._check = check

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self._engine.begin() as connection:
            self._check(connection)
            yield connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class Worker:
    """Understands a store's articles batch by batch, under leases.

    ``lock`` is held while a batch is understood: a process that also runs
    :meth:`Understander.run` on the same models passes one lock to both."""

    def __init__(
        self,
        understander: Understander,
        engine: Engine,
        *,
        batch_size: int = BATCH_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        owner: str | None = None,
        lock: AbstractContextManager[Any] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.understander = understander
        self.engine = engine
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.owner = owner or worker_name()
        self.lock = lock or nullcontext()
        self.clock = clock

    # -- the loops ----------------------------------------------------------------------

    def waiting(self, *, everything: bool = False) -> int:
        """How many articles wait to be understood (those other workers hold excepted)."""
        since = _now() if everything else None
        with self.engine.connect() as connection:
            return claims.waiting_count(connection, now=self.clock(), since=since)

    def run_once(
        self,
        *,
        everything: bool = False,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        keep_failed: bool = False,
    ) -> UnderstandReport:
        """Understand every article waiting now (every article with ``everything``), batch
        by batch, then return. Articles that come in meanwhile are taken too.

        A batch that fails raises; its leases are given back, or with ``keep_failed`` left
        to expire so that a long-running worker tries it again only after a while."""
        started = time.perf_counter()
        report = UnderstandReport()
        # what this run understands is stamped with the time it was stored (not the leases'
        # clock): those are the articles not to take again
        since = _now() if everything else None
        total = self.waiting(everything=everything)
        if progress:
            progress(0, total)
        after_id = 0
        # nothing waits: an idle worker's look is one read, not a write to claim nothing
        while total and not (stop is not None and stop.is_set()):
            batch = self._claim(after_id, since)
            if not batch:
                if after_id == 0:
                    break
                after_id = 0  # once more from the start: leases that expired, changed articles
                continue
            after_id = batch[-1].id
            self.understand(batch, report, keep_failed=keep_failed)
            if progress:
                progress(report.articles, max(total, report.articles))
        report.seconds = time.perf_counter() - started
        return report

    def run_forever(
        self,
        stop: threading.Event,
        *,
        idle: float = IDLE_SECONDS,
        progress: Progress | None = None,
        on_round: Callable[[UnderstandReport], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """Understand articles as they come, until ``stop`` is set: everything waiting,
        then a look every ``idle`` seconds. A round that understood something goes to
        ``on_round``; one that failed (a lost database, a batch the models fail on) to
        ``on_error``, and the worker goes on after ``idle`` (a failed batch is tried again
        once its leases expire)."""
        try:
            while not stop.is_set():
                try:
                    report = self.run_once(progress=progress, stop=stop, keep_failed=True)
                    if on_round is not None and (report.articles or report.warnings):
                        on_round(report)
                except Exception as exc:  # the loop outlives a lost connection or a bad batch
                    if on_error is None:
                        raise
                    on_error(exc)
                stop.wait(idle)
        finally:
            self.release()

    def release(self) -> None:
        """Give back every lease this worker holds (on shutdown; a killed worker's leases
        simply expire)."""
        try:
            with self.engine.begin() as connection:
                claims.release(connection, self.owner)
        except Exception as exc:  # the database is away: the leases will expire
            log.warning("could not give back the leases of %s: %s", self.owner, describe(exc))

    # -- one batch ----------------------------------------------------------------------

    def understand(
        self, batch: list[Pending], report: UnderstandReport, *, keep_failed: bool = False
    ) -> bool:
        """Understand and store one claimed batch, then give its leases back. False if
        another worker had taken the batch over (this one then stores nothing)."""
        ids = [a.id for a in batch]
        try:
            with self._heartbeat(ids), self.lock:
                guarded = _Guarded(self.engine, lambda c: self._check(c, ids))
                self.understander.process(cast(Engine, guarded), batch, report)
        except LeaseLost as exc:
            report.warnings.append(str(exc))
            log.warning("%s", exc)
            self._release(ids)  # those still held: for whichever worker claims next
            return False
        except Exception:
            if not keep_failed:
                self._release(ids)
            raise
        except BaseException:  # an interrupt: give the batch back at once
            self._release(ids)
            raise
        self._release(ids)
        return True

    def _claim(self, after_id: int, since: datetime | None) -> list[Pending]:
        with self.engine.begin() as connection:
            return claims.claim(
                connection,
                self.owner,
                limit=self.batch_size,
                now=self.clock(),
                lease_seconds=self.lease_seconds,
                after_id=after_id,
                since=since,
            )

    def _check(self, connection: Connection, ids: list[int]) -> None:
        """First in the transaction that stores a batch: take the grouping lock, then renew
        (and, on PostgreSQL, lock) the batch's leases; refuse if any passed to another
        worker. On SQLite that first write also makes the transaction the single writer
        before it reads the stories it groups into."""
        claims.lock_grouping(connection)
        held = claims.hold(
            connection, self.owner, ids, now=self.clock(), lease_seconds=self.lease_seconds
        )
        if len(held) < len(ids):
            lost = len(ids) - len(held)
            raise LeaseLost(
                f"{lost} of {len(ids)} articles were taken over by another worker after "
                f"this one's lease expired; left to it"
            )

    def _release(self, ids: list[int]) -> None:
        try:
            with self.engine.begin() as connection:
                claims.release(connection, self.owner, ids)
        except Exception as exc:  # the database is away: the leases will expire
            log.warning("could not give back %d leases: %s", len(ids), describe(exc))

    @contextmanager
    def _heartbeat(self, ids: list[int]) -> Iterator[None]:
        """Renew the batch's leases every third of a lease while it is understood (the
        first batch also waits for the models to load)."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.lease_seconds / 3):
                try:
                    with self.engine.begin() as connection:
                        held = claims.hold(
                            connection,
                            self.owner,
                            ids,
                            now=self.clock(),
                            lease_seconds=self.lease_seconds,
                        )
                except Exception as exc:  # tried again at the next beat
                    log.warning("could not renew %d leases: %s", len(ids), describe(exc))
                    continue
                if len(held) < len(ids):
                    log.warning("%d leases passed to another worker", len(ids) - len(held))

        thread = threading.Thread(target=beat, name="tidings-work-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(self.lease_seconds)
