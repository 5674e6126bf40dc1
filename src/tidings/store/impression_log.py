"""Impressions written off the request path.

A feed page logs what it showed (one impression per item). Writing them inside the
request made every feed wait for a commit, and on SQLite's single writer the requests of a
busy server queued behind each other's commits. A server instead hands them to an
:class:`ImpressionLog` in deferred mode: the request returns at once, and a background
thread writes whatever has queued every :data:`FLUSH_SECONDS`, all readers in one
transaction. A crash loses at most that last interval of impressions; a reader's actions
(opens, hides, follows …) are never queued — they are written before their request returns.

Nothing reads impressions within a visit: ranking counts a story as seen only once it was
shown before the current visit, so the delay is invisible to readers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from sqlalchemy import Engine

from tidings.store import events as event_store
from tidings.store.events import Row

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
MAX_QUEUED = 100_000  # past this a request writes its own (the writer has fallen behind)


class ImpressionLog:
    """Where a feed builder's impressions go: written at once (the default: a command, a
    test) or, after :meth:`defer`, queued and written in batches by a background thread."""

    def __init__(self, engine: Engine, *, writing: threading.Lock | None = None) -> None:
        self.engine = engine
        # One writer at a time per process: SQLite has one write lock, and threads that find
        # it taken sleep in growing steps — writing from many threads at once is slower.
        self.writing = writing or threading.Lock()
        self._queue: list[Row] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0

    @property
    def deferred(self) -> bool:
        return self._thread is not None

    def defer(self) -> None:
        """Queue from now on, and start the background writer (once)."""
        with self._lock:
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="tidings-impressions", daemon=True
                )
                self._thread.start()

    def add(self, shown: Sequence[Row], *, now: bool = False) -> None:
        """Log one page's impressions (event rows, :data:`~tidings.store.events.COLUMNS`):
        queued when deferred (and the queue has room) and not ``now``, else written before
        returning."""
        if not shown:
            return
        if self.deferred and not now:
            with self._lock:
                if len(self._queue) < MAX_QUEUED:
                    self._queue.extend(shown)
                    return
        self._write(list(shown))

    def flush(self) -> None:
        """Write everything queued now."""
        with self._lock:
            batch, self._queue = self._queue, []
        self._write(batch)

    def close(self) -> None:
        """Stop the background writer after writing what is queued."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _write(self, batch: list[Row]) -> None:
        if not batch:
            return
        with self.writing, self.engine.begin() as connection:
            event_store.append_rows(connection, batch)
        self.written += len(batch)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_SECONDS)
            with self._lock:
                batch, self._queue = self._queue, []
            try:
                self._write(batch)
            except Exception:  # a locked or lost database: try again at the next interval
                log.exception("writing %d queued impressions failed; retrying", len(batch))
                with self._lock:
                    self._queue[:0] = batch[: max(0, MAX_QUEUED - len(self._queue))]
                self._stop.wait(FLUSH_SECONDS)
