"""Keeping what every reader's feed is ranked against up to date: the shared candidate pool
(:mod:`~tidings.rank.pool`) and the scorer.

The pool is built on the first request and rebuilt every :data:`POOL_SECONDS` in a
background thread while readers keep being served from the old one; after an ingest,
understanding or training (:meth:`PoolKeeper.invalidate`) the next request first brings it
up to date, reading only new and changed stories. The newest stored scorer is checked again
on the same clock (another process may have trained) and parsed only when new.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from tidings.rank.followed import carry_over
from tidings.rank.pool import (
    POOL_SECONDS,
    POOL_STORIES,
    POPULARITY_WINDOW,
    Pool,
    corpus_clock,
    matrix,
)
from tidings.rank.scorer import PRIOR, Scorer, from_dict
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store.schema import scorers


class PoolKeeper:
    """The pool and scorer of one store, for one :class:`~tidings.rank.feed.FeedBuilder`.

    ``lock`` is the feed's own: swapping in a pool and dropping the rankings made against
    the old one (``replaced``, called holding it) is one step. ``warm`` loads what readers
    of a new pool will ask for (followed topics' stories, lead articles), off the request
    path."""

    def __init__(
        self,
        engine: Engine,
        lock: threading.Lock,
        *,
        replaced: Callable[[Pool], None],
        warm: Callable[[Pool], None],
    ) -> None:
        self.engine = engine
        self._lock = lock
        self._replaced = replaced
        self._warm = warm
        self._pool: Pool | None = None
        self._scorer: tuple[float, int, Scorer] | None = None  # (checked, version, scorer)
        self._refreshing: threading.Thread | None = None
        self._stale = False  # the store changed here: bring the pool up to date first

    @property
    def current(self) -> Pool | None:
        """The pool as it stands (None: not built yet), with no rebuild or check."""
        return self._pool

    def invalidate(self) -> None:
        """The next request first brings the pool up to date and checks the scorer."""
        with self._lock:
            self._stale = True
            self._scorer = None

    def warm(self) -> None:
        """Build the pool, load the scorer and what ``warm`` loads now, and wait for them."""
        self.pool()
        self.scorer()
        with self._lock:
            loading = self._refreshing
        if loading is not None:
            loading.join()

    def close(self, timeout: float = 30.0) -> None:
        """Wait for a background rebuild or warm-up under way, so that none outlives the
        store it reads (a closed store's tables may be gone)."""
        with self._lock:
            loading = self._refreshing
        if loading is not None:
            loading.join(timeout)

    def settled(self) -> tuple[Pool, int, Scorer] | None:
        """The pool, the scorer's version and the scorer as they stand, when neither is due
        for a rebuild or a check; None when they are (:meth:`pool` and :meth:`scorer` see to
        it)."""
        with self._lock:
            pool, checked = self._pool, self._scorer
        if pool is None or self._stale or checked is None:
            return None
        if time.monotonic() - pool.built > POOL_SECONDS or (
            time.monotonic() - checked[0] > POOL_SECONDS
        ):
            return None  # due for a refresh: pool() starts it
        return pool, checked[1], checked[2]

    def pool(self) -> Pool:
        """The shared candidate pool. The first call builds it; once it is older than
        :data:`POOL_SECONDS` a background thread rebuilds it while readers keep being served
        from the old one, so no reader waits for a rebuild."""
        with self._lock:
            pool = self._pool
            if pool is None or self._stale:
                old, self._stale = pool, False
                pool = self._pool = self.build(old, about=False)
                self._replaced(pool)
                if old is None or pool.version != old.version:
                    self._start(self._warm, pool)
            elif time.monotonic() - pool.built > POOL_SECONDS and not (
                self._refreshing and self._refreshing.is_alive()
            ):
                self._start(self._refresh)
            return pool

    def _start(self, target: Any, *args: Any) -> None:
        self._refreshing = threading.Thread(
            target=target, args=args, name="tidings-feed-pool", daemon=True
        )
        self._refreshing.start()

    def _refresh(self) -> None:
        with self._lock:
            old = self._pool
        if old is None:  # invalidated meanwhile: the next call builds
            return
        fresh = self.build(old)
        # The most followed topics are loaded here, off the request path, so that the
        # readers who follow them never wait for the lookup.
        self._warm(fresh)
        with self._lock:
            if self._pool is old:
                self._pool = fresh
                self._replaced(fresh)

    def build(self, old: Pool | None = None, *, about: bool = True) -> Pool:
        """The newest stories, their popularity and the clock. From an ``old`` pool only new
        and changed stories are read (by their last update); when none is, the new pool
        keeps its version, so the rankings made against it stay good, and its followed-topic
        lists (with ``about``, they carry over whatever changed)."""
        now = datetime.now(UTC)
        held = old.stamps if old is not None else {}
        with self.engine.connect() as connection:
            stamps = candidate_store.newest_stamps(connection, POOL_STORIES)
            changed = [i for i, at in stamps if held.get(i) != at]
            loaded = {s.story_id: s for s in candidate_store.load(connection, changed)}
            popularity = event_store.popularity(connection, now - POPULARITY_WINDOW)
        stories = []
        for story_id, _ in stamps:
            story = loaded.get(story_id)
            if story is None and old is not None and story_id in held:
                story = old.stories[old.row_of[story_id]]
            if story is not None:
                stories.append(story)
        dim = next((len(s.vector) for s in stories if s.vector is not None), 0)
        clock = corpus_clock(stories, now)
        fresh = Pool(stories, matrix(stories, dim), popularity, clock, time.monotonic())
        fresh.stamps = {i: at for i, at in stamps if i in fresh.row_of}
        if (
            old is not None
            and not loaded
            and clock == old.clock
            and [s.story_id for s in stories] == [s.story_id for s in old.stories]
        ):
            fresh.version = old.version
        if old is not None and (about or fresh.version == old.version):
            carry_over(old, fresh)
        return fresh

    def scorer(self) -> tuple[int, Scorer]:
        """(version, scorer): the newest stored scorer (0: the prior), checked again every
        :data:`POOL_SECONDS` (another process may have trained) and parsed only when new."""
        with self._lock:
            if self._scorer is None or time.monotonic() - self._scorer[0] > POOL_SECONDS:
                with self.engine.connect() as connection:
                    newest = connection.execute(
                        select(scorers.c.id).order_by(scorers.c.id.desc()).limit(1)
                    ).scalar()
                    version = newest or 0
                    if self._scorer is not None and self._scorer[1] == version:
                        scorer = self._scorer[2]
                    elif newest is None:
                        scorer = PRIOR
                    else:
                        model = connection.execute(
                            select(scorers.c.model).where(scorers.c.id == newest)
                        ).scalar_one()
                        scorer = from_dict(json.loads(model))
                self._scorer = (time.monotonic(), version, scorer)
            return self._scorer[1], self._scorer[2]
