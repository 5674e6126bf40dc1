"""What the feed keeps in memory between requests, so that a returning reader whose feed has
not changed costs one store read (their action mark).

Per reader:

- their ranking (:class:`~tidings.rank.ranking.Ranked`: its best
  :data:`~tidings.rank.ranking.KEPT_ROWS` candidates with their features, and the pages made
  from it), for :data:`RANKED_READERS` readers, at most :data:`RANKED_MB`, least recently
  used dropped first, under a key of their last action (any event but an impression), the
  pool and the scorer. Any action, ingest, understand or training changes the key, so its
  effect shows in the very next feed; a pool of other stories drops them all.
- what they were shown before this visit, for :data:`SEEN_SECONDS` and until their next
  action (:data:`SEEN_READERS` readers).

Shared by every reader, and emptied after an ingest, understanding or training (as are the
pages kept with each ranking: their articles may have changed):

- the articles readers acted on (their history, for building profiles): :data:`READ_CACHE`;
- the lead articles shown in feeds: :data:`ARTICLE_CACHE`.

Every cache is guarded by the feed's own lock (shared with
:class:`~tidings.rank.pool_keeper.PoolKeeper`, so a pool swap and dropping the rankings made
against the old one are one step); the store is read outside it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from tidings.models import Article
from tidings.rank import profile
from tidings.rank.pool import Pool
from tidings.rank.ranking import Ranked, same, seen_arrays
from tidings.store import articles as article_store
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store.readers import Reader

READ_CACHE = 50_000  # articles kept in memory for building profiles
ARTICLE_CACHE = 10_000  # whole articles kept in memory for showing feed items (~3 KB each)
# Rankings kept per process, least recently used dropped first: ~65 KB a reader (the
# features of its KEPT_ROWS best candidates are most of it).
RANKED_READERS = 2_000
RANKED_MB = 96.0
# What a reader was shown before this visit, kept per reader this long (and until their next
# action): it only grows as earlier impressions age past the visit, so a minute late is
# nothing a reader notices, and a returning reader costs no store read for it.
SEEN_SECONDS = 60.0
SEEN_READERS = 20_000


def seen_before_this_visit(connection: Any, reader_id: int) -> dict[int, int]:
    """What the reader was shown before this visit (story id → times), read from the store."""
    now = datetime.now(UTC)
    return event_store.seen(
        connection, reader_id, now - profile.SEEN_WINDOW, until=now - profile.VISIT
    )


class ReaderMemory:
    """The caches of one :class:`~tidings.rank.feed.FeedBuilder`.

    ``lock`` is the feed's own; ``current`` gives the pool as it stands (read holding the
    lock: a ranking made against a pool replaced meanwhile is not kept)."""

    def __init__(
        self, engine: Engine, lock: threading.Lock, *, current: Callable[[], Pool | None]
    ) -> None:
        self.engine = engine
        self._lock = lock
        self._current = current
        # Articles readers acted on (their history), by id: read once, shared by every
        # reader; emptied with the pool on ingest. Bounded so a long-running server stays small.
        self._read: OrderedDict[int, Any] = OrderedDict()
        self._articles: OrderedDict[int, Article] = OrderedDict()  # leads shown in feeds
        self._ranked: OrderedDict[int, Ranked] = OrderedDict()  # reader id → ranked list
        self._ranked_bytes = 0
        # reader id → (when read, action mark, seen arrays): see SEEN_SECONDS
        self._seen: OrderedDict[int, tuple[float, tuple[int, int], Any]] = OrderedDict()

    def forget(self) -> None:
        """After an ingest, understanding or training: articles and what was shown are read
        again; rankings are kept (the key names the pool), their pages are made again."""
        with self._lock:
            self._read.clear()
            self._articles.clear()
            self._seen.clear()
            for ranked in self._ranked.values():
                ranked.pages = {}

    def pool_changed(self, pool: Pool) -> None:
        """Drop the rankings made against other stories than ``pool``'s (holding the lock)."""
        if any(r.pool.version != pool.version for r in self._ranked.values()):
            self._ranked.clear()
            self._ranked_bytes = 0

    # -- what a reader did and read ---------------------------------------------------------

    def state(
        self, reader: Reader, seen: dict[int, int] | None
    ) -> tuple[profile.ReaderState, dict[int, Any]]:
        """The reader's state folded from their events (with ``seen``, or what they were
        shown before this visit), and the articles it names, by id."""
        with self.engine.connect() as connection:
            log = event_store.for_reader(connection, reader.id)
            state = profile.fold(log)
            if seen is None:
                seen = seen_before_this_visit(connection, reader.id)
            state.seen.update(seen)
            wanted = [*profile.history_ids(state), *state.fewer_like]
            read = self.read_articles(connection, wanted)
        return state, read

    def read_articles(self, connection: Any, ids: list[int]) -> dict[int, Any]:
        with self._lock:
            found = _hits(self._read, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            loaded = candidate_store.read_articles(connection, missing)
            found.update(loaded)
            with self._lock:
                self._read.update(loaded)
                while len(self._read) > READ_CACHE:
                    self._read.popitem(last=False)
        return found

    def leads(self, ids: list[int]) -> dict[int, Article]:
        with self._lock:
            found = _hits(self._articles, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            with self.engine.connect() as connection:
                loaded = article_store.get_many(connection, missing)
            found.update(loaded)
            with self._lock:
                self._articles.update(loaded)
                while len(self._articles) > ARTICLE_CACHE:
                    self._articles.popitem(last=False)
        return found

    def seen_arrays(
        self, connection: Connection, reader_id: int, mark: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """What the reader was shown before this visit, as (story ids, times): kept for
        :data:`SEEN_SECONDS` and until their next action (same arrays: same ranking key)."""
        with self._lock:
            kept = self._seen.get(reader_id)
        if kept is not None and kept[1] == mark and time.monotonic() - kept[0] < SEEN_SECONDS:
            return kept[2]
        shown = seen_arrays(seen_before_this_visit(connection, reader_id))
        if kept is not None and same(kept[2], shown):
            shown = kept[2]  # the very arrays: a kept ranking compares them by identity first
        with self._lock:
            self._seen[reader_id] = (time.monotonic(), mark, shown)
            self._seen.move_to_end(reader_id)
            while len(self._seen) > SEEN_READERS:
                self._seen.popitem(last=False)
        return shown

    # -- kept rankings ----------------------------------------------------------------------

    def kept(self, reader_id: int, key: tuple[Any, ...]) -> Ranked | None:
        """The reader's kept ranking, if it was ranked under ``key``."""
        with self._lock:
            ranked = self._ranked.get(reader_id)
            if ranked is None or ranked.key != key:
                return None
            self._ranked.move_to_end(reader_id)
            return ranked

    def keep(self, reader_id: int, ranked: Ranked) -> None:
        with self._lock:
            old = self._ranked.pop(reader_id, None)
            if old is not None:
                self._ranked_bytes -= old.counted
            pool = self._current()
            if pool is None or ranked.pool.version != pool.version:
                return  # the pool changed meanwhile: keep nothing
            ranked.counted = ranked.nbytes
            self._ranked[reader_id] = ranked
            self._ranked_bytes += ranked.counted
            while self._ranked and (
                len(self._ranked) > RANKED_READERS or self._ranked_bytes > RANKED_MB * 2**20
            ):
                _, dropped = self._ranked.popitem(last=False)
                self._ranked_bytes -= dropped.counted


def _hits(cache: OrderedDict[int, Any], ids: list[int]) -> dict[int, Any]:
    """What ``cache`` holds of ``ids``, each marked as just used (least recently used go
    first: the stories readers are shown now stay, whatever was loaded first)."""
    found = {}
    for i in ids:
        value = cache.get(i)
        if value is not None:
            cache.move_to_end(i)
            found[i] = value
    return found
