"""A reader's candidates beyond the shared pool: the newest stories about every topic they
follow, and those matching every search they follow (a follow of ``search:<query>``; such a
story counts as followed, and its reason names the search).

Each topic's (or search's) story list is read once and kept in the pool's ``about`` for
:data:`ABOUT_SECONDS`, shared by every reader and carried over pool refreshes
(:func:`carry_over`); the most followed are loaded with each pool, off the request path
(:meth:`Followed.warm`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from tidings.errors import InputError
from tidings.rank import profile
from tidings.rank.pool import FOLLOWED_STORIES, POOL_STORIES, Columns, Pool
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store.candidates import PoolStory

log = logging.getLogger(__name__)

ABOUT_SECONDS = 600.0  # how long a followed topic's (or search's) story list is reused
SEARCH = "search:"  # the follow target of a saved search: "search:<normalised query>"
SEARCH_STORIES = 200  # newest stories per followed search, added to the candidates
WARM_TOPICS = 500  # the most followed topics, loaded in the background with each pool


class StoryMatcher(Protocol):
    """What the feed asks of search (:class:`tidings.search.Searcher` is one): the stories
    a saved search matches, newest first."""

    def matching_stories(
        self, query: str, *, since: datetime | None = None, limit: int = 200
    ) -> list[int]: ...


def carry_over(old: Pool, fresh: Pool) -> None:
    """Followed-topic lists carry over for ABOUT_SECONDS: thousands of topics are
    followed, and reloading them all every minute would keep the cache cold."""
    keep = time.monotonic() - ABOUT_SECONDS
    for key, (built, stories) in list(old.about.items()):
        if built >= keep and key not in fresh.about:
            fresh.about[key] = (built, stories)
            for story in stories:
                fresh.by_id.setdefault(story.story_id, story)


class Followed:
    """Finds the stories about what readers follow, for one store (and its search)."""

    def __init__(self, engine: Engine, searcher: StoryMatcher | None = None) -> None:
        self.engine = engine
        self.searcher = searcher  # None: followed searches add nothing to feeds

    def warm(self, pool: Pool) -> None:
        """Load the most followed topics' (and searches') stories into ``pool``."""
        with self.engine.connect() as connection:
            popular = event_store.most_followed(connection, WARM_TOPICS)
        self.about(pool, set(popular))

    def about(self, pool: Pool, keys: set[str]) -> list[PoolStory]:
        """The newest stories about followed topics, and matching followed searches
        (``search:<query>`` keys), loaded once per key and kept for :data:`ABOUT_SECONDS`
        (across pool refreshes, shared by every reader); the stories of all missing keys
        are read together."""
        if self.searcher is None:
            keys = {k for k in keys if not k.startswith(SEARCH)}
        missing = [k for k in keys if k not in pool.about]
        if missing:
            searches = [k for k in missing if k.startswith(SEARCH)]
            found = self._searched(pool, searches)
            with self.engine.connect() as connection:
                found.update(
                    (key, candidate_store.about(connection, [key], FOLLOWED_STORIES))
                    for key in missing
                    if not key.startswith(SEARCH)
                )
                unknown = {i for ids in found.values() for i in ids if i not in pool.by_id}
                for story in candidate_store.load(connection, sorted(unknown)):
                    pool.by_id[story.story_id] = story
            loaded = time.monotonic()
            for key, ids in found.items():
                pool.about[key] = (loaded, [pool.by_id[i] for i in ids if i in pool.by_id])
        return [s for k in keys for s in pool.about[k][1]]

    def _searched(self, pool: Pool, keys: list[str]) -> dict[str, list[int]]:
        """The stories each followed search (``search:<query>`` key) matches, newest first,
        from the pool's window on: its oldest dated story, when the pool is full (else the
        pool is every story, and so is the window). A query search refuses (BadQuery) matches
        nothing."""
        if not keys or self.searcher is None:
            return {}
        since = None
        if len(pool.stories) >= POOL_STORIES:
            since = min((s.when for s in pool.stories if s.when is not None), default=None)
        found: dict[str, list[int]] = {}
        for key in keys:
            try:
                found[key] = self.searcher.matching_stories(
                    key.removeprefix(SEARCH), since=since, limit=SEARCH_STORIES
                )
            except InputError:  # a query saved before the rules changed, say
                found[key] = []
            except Exception:  # a bug of search's: this search adds nothing, the feed goes on
                log.exception("followed search %r could not be run", key)
                found[key] = []
        return found

    def search_matches(self, pool: Pool, followed: frozenset[str] | set[str]) -> dict[int, str]:
        """Story id → the followed search it matches (its query; the first in order when
        several do), from the lists :meth:`about` keeps."""
        keys = sorted(k for k in followed if k.startswith(SEARCH))
        if not keys or self.searcher is None:
            return {}
        self.about(pool, set(keys))  # loaded already while ranking: a lookup
        out: dict[int, str] = {}
        for key in keys:
            for story in pool.about[key][1]:
                out.setdefault(story.story_id, key.removeprefix(SEARCH))
        return out

    def stories(
        self, pool: Pool, state: profile.ReaderState, include: Sequence[int] = ()
    ) -> list[PoolStory]:
        """The pool's stories, then those about the reader's followed topics (or matching
        their followed searches) outside it, then those of ``include`` outside both (read
        from the store if need be)."""
        stories = list(pool.stories)
        extra: dict[int, PoolStory] = {}
        topic_keys = {k for k in state.followed if not k.startswith("source:")}
        if topic_keys:
            for s in self.about(pool, topic_keys):
                if s.story_id not in pool.row_of:
                    extra.setdefault(s.story_id, s)
        missing = [i for i in include if i not in pool.row_of and i not in extra]
        if missing:
            unknown = [i for i in missing if i not in pool.by_id]
            if unknown:
                with self.engine.connect() as connection:
                    for story in candidate_store.load(connection, unknown):
                        pool.by_id.setdefault(story.story_id, story)
            for i in missing:
                if i in pool.by_id:
                    extra.setdefault(i, pool.by_id[i])
        stories.extend(extra.values())
        return stories

    def candidates(
        self, pool: Pool, state: profile.ReaderState, include: Sequence[int] = ()
    ) -> tuple[list[PoolStory], Columns]:
        """The reader's candidate stories (:meth:`stories`) with their columns: the pool's,
        and those of the stories outside it computed now."""
        stories = self.stories(pool, state, include)
        assert pool.columns is not None
        columns = pool.columns
        if len(stories) > len(pool.stories):
            columns = columns + Columns.of(stories[len(pool.stories) :], pool)
        return stories, columns
