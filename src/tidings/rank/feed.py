"""Assembling a reader's feed.

The one module of ``rank/`` that reads the store: it gathers candidate stories and the
reader's events, then hands plain data to the pure parts — :mod:`~tidings.rank.profile`,
:mod:`~tidings.rank.features`, a :mod:`~tidings.rank.scorer`,
:mod:`~tidings.rank.diversity` and :mod:`~tidings.rank.reasons`.

Candidates are the newest :data:`POOL_STORIES` stories plus the newest stories about every
topic the reader follows. The pool (stories, embeddings, popularity, and the per-story
columns the features need) is shared by all readers and rebuilt every :data:`POOL_SECONDS`,
or at once after an ingest.

A reader's ranking (its best :data:`KEPT_ROWS` candidates with their features) is kept for
:data:`RANKED_READERS` readers, at most :data:`RANKED_MB`, under a key of their last action
(any event but an impression), the pool and the scorer. A cursor pages on through the same
list; the first page again reads only what the feed showed since, and those stories sink
(only the ``seen`` column is recomputed). Any action, ingest, understand or training
changes the key, so its effect shows in the very next feed. At most :data:`RANKING_SLOTS`
feeds are ranked afresh at once per process.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, func, select

from tidings.models import Article
from tidings.rank import diversity, profile, reasons
from tidings.rank.features import (
    FEATURES,
    Candidates,
    Profile,
    TopicIncidence,
    features,
    topic_key,
)
from tidings.rank.scorer import PRIOR, Scorer, from_dict
from tidings.rank.signals import Event, Kind
from tidings.store import articles as article_store
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store.candidates import PoolStory
from tidings.store.readers import Reader
from tidings.store.schema import events, scorers

POOL_STORIES = 1000
POOL_SECONDS = 60.0
READ_CACHE = 50_000  # articles kept in memory for building profiles
ARTICLE_CACHE = 10_000  # whole articles kept in memory for showing feed items (~3 KB each)
ABOUT_SECONDS = 600.0  # how long a followed topic's story list is reused
WARM_TOPICS = 500  # the most followed topics, loaded in the background with each pool
FOLLOWED_STORIES = 40  # newest stories per followed topic, added to the pool
POPULARITY_WINDOW = timedelta(days=2)
MAX_LIMIT = 200
FRESH = 0.1  # freshness (about nine days old) under which "Among the newest stories" is no reason
READ_SIMILARITY = 0.25  # cosine to an article read, for "Because you read …" to name it
# Rankings kept per process, least recently used dropped first: ~65 KB a reader (the
# features of its KEPT_ROWS best candidates are most of it).
RANKED_READERS = 2_000
RANKED_MB = 96.0
# Feeds ranked at once per process; more wait. Ranking is CPU-bound Python and NumPy: on a
# few cores more at once only interleave (each takes longer) and hold more matrices.
RANKING_SLOTS = 4
DIVERSITY_POOL = 300  # the best candidates diversify considers (its own default)
# Candidates kept per ranked reader, best first: a page is exact while DIVERSITY_POOL of
# them still score above every candidate left out (each first page shown sinks ~30).
KEPT_ROWS = 500

_ACTIONS = tuple(str(k) for k in Kind if k is not Kind.IMPRESSION)
_SEEN = FEATURES.index("seen")
_POPULARITY = FEATURES.index("popularity")
_FRESHNESS = FEATURES.index("freshness")
_versions = itertools.count(1)


@dataclass(frozen=True, slots=True)
class FeedItem:
    rank: int
    story_id: int
    headline: str
    article: Article  # the story's article that suits this reader best
    outlets: int
    articles: int
    reason: reasons.Reason
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "story_id": self.story_id,
            "headline": self.headline,
            "article": self.article.to_dict(),
            "outlets": self.outlets,
            "articles": self.articles,
            "reason": self.reason.text,
            "reason_code": self.reason.code,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class Filtered:
    """A story kept out of the feed, and why (so nothing disappears silently)."""

    story_id: int
    headline: str
    reason: str  # hidden | muted | read
    text: str
    since: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "story_id": self.story_id,
            "headline": self.headline,
            "reason": self.reason,
            "text": self.text,
            "since": self.since.isoformat() if self.since else None,
        }


@dataclass(slots=True)
class FeedPage:
    reader: Reader
    items: list[FeedItem]
    next_cursor: str | None
    filtered: list[Filtered]
    scorer: str
    request: str | None = None
    followed: frozenset[str] = frozenset()  # the reader's follow keys when it was ranked

    def follows(self, topic_id: str) -> bool:
        """Whether the reader follows a topic of a card (``label:north-korea``, say), so a
        page offers to unfollow it rather than to follow it again."""
        return topic_key(topic_id) in self.followed

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for f in self.filtered:
            counts[f.reason] = counts.get(f.reason, 0) + 1
        return {
            "reader": self.reader.name,
            "items": [i.to_dict() for i in self.items],
            "next_cursor": self.next_cursor,
            "filtered": counts,
            "scorer": self.scorer,
        }


@dataclass(slots=True)
class _Columns:
    """Per-story columns of a list of stories, as the features take them: computed once
    per pool for its stories (and per request only for followed-topic stories outside it),
    so a request gathers arrays instead of looping over a thousand stories."""

    ids: np.ndarray
    age_hours: np.ndarray  # NaN when the time is unknown
    clicks: np.ndarray
    shown: np.ndarray
    outlets: np.ndarray
    starts: np.ndarray  # (n + 1,) where each story's topic codes begin in ``codes``
    codes: np.ndarray  # topic key codes (of the pool's code book), story after story

    @classmethod
    def of(cls, stories: list[PoolStory], pool: _Pool) -> _Columns:
        clock, popular = pool.clock, pool.popularity
        counts = [popular.get(s.story_id, (0, 0)) for s in stories]
        with pool.lock:  # the code book is shared and grows with followed-topic stories
            incidence = TopicIncidence.of([s.topics for s in stories], pool.codes)
        sizes = np.fromiter((len(s.topics) for s in stories), dtype=np.int64, count=len(stories))
        return cls(
            ids=np.fromiter((s.story_id for s in stories), dtype=np.int64, count=len(stories)),
            age_hours=np.array(
                [
                    (clock - s.when).total_seconds() / 3600 if s.when is not None else np.nan
                    for s in stories
                ],
                dtype=np.float64,
            ),
            clicks=np.array([c for c, _ in counts], dtype=np.float64),
            shown=np.array([n for _, n in counts], dtype=np.float64),
            outlets=np.array([s.outlets for s in stories], dtype=np.float64),
            starts=np.concatenate([[0], np.cumsum(sizes)]),
            codes=incidence.keys,
        )

    def __add__(self, other: _Columns) -> _Columns:
        return _Columns(
            ids=np.concatenate([self.ids, other.ids]),
            age_hours=np.concatenate([self.age_hours, other.age_hours]),
            clicks=np.concatenate([self.clicks, other.clicks]),
            shown=np.concatenate([self.shown, other.shown]),
            outlets=np.concatenate([self.outlets, other.outlets]),
            starts=np.concatenate([self.starts[:-1], other.starts + self.starts[-1]]),
            codes=np.concatenate([self.codes, other.codes]),
        )

    def take(self, rows: np.ndarray) -> _Columns:
        sizes = self.starts[rows + 1] - self.starts[rows]
        ends = np.cumsum(sizes)
        total = int(ends[-1]) if len(ends) else 0
        # every code of every chosen row, in row order: each row's start, then counting up
        gather = np.repeat(self.starts[rows] - (ends - sizes), sizes) + np.arange(total)
        return _Columns(
            ids=self.ids[rows],
            age_hours=self.age_hours[rows],
            clicks=self.clicks[rows],
            shown=self.shown[rows],
            outlets=self.outlets[rows],
            starts=np.concatenate([[0], ends]),
            codes=self.codes[gather],
        )

    def rows_of_codes(self) -> np.ndarray:
        """The story (row) of each entry of ``codes``."""
        return np.repeat(np.arange(len(self.ids)), np.diff(self.starts))


@dataclass(slots=True)
class _Pool:
    stories: list[PoolStory]
    vectors: np.ndarray
    popularity: dict[int, tuple[int, int]]
    clock: datetime  # "now" for freshness: the newest story's time when the store is an archive
    built: float
    # topic key → (when loaded, its newest stories)
    about: dict[str, tuple[float, list[PoolStory]]] = field(default_factory=dict)
    by_id: dict[int, PoolStory] = field(default_factory=dict)  # every story loaded so far

    # Which sources tell each pool story: (stories, sources) 0/1, so choosing the lead
    # source a reader likes best is one vectorised step, not a loop over articles.
    source_names: list[str] = field(default_factory=list)
    incidence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    row_of: dict[int, int] = field(default_factory=dict)  # story id → row in stories
    version: int = field(default_factory=lambda: next(_versions))  # part of a ranking's key
    codes: dict[str, int] = field(default_factory=dict)  # topic key → code (grows)
    lock: threading.Lock = field(default_factory=threading.Lock)
    columns: _Columns | None = None
    mixed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        self.by_id.update((s.story_id, s) for s in self.stories)
        self.row_of = {s.story_id: row for row, s in enumerate(self.stories)}
        index: dict[str, int] = {}
        pairs = [
            (row, index.setdefault(src, len(index)))
            for row, story in enumerate(self.stories)
            for _, src in story.articles
            if src
        ]
        self.source_names = list(index)
        self.incidence = np.zeros((len(self.stories), len(index)), dtype=np.float32)
        for row, column in pairs:
            self.incidence[row, column] = 1.0
        self.mixed = np.array([s.mixed for s in self.stories], dtype=bool)
        self.columns = _Columns.of(self.stories, self)


@dataclass(slots=True)
class _Ranked:
    """One reader's ranking, kept so that the next page slices the same list and the same
    page again needs no store reads and no feature building.

    Only the best :data:`KEPT_ROWS` candidates by score are kept (with their features), and
    the best score of those left out (``floor``): while at least :data:`DIVERSITY_POOL`
    kept rows score above it, the page is exactly what ranking every candidate would give;
    once too many have sunk below it (or a story left out was shown), the reader is ranked
    afresh.
    """

    key: tuple[Any, ...]  # (reader's action mark, pool version, scorer version)
    pool: _Pool
    scorer: Scorer
    stories: list[PoolStory]  # the kept candidates, in candidate order (ties break by it)
    ids: np.ndarray  # their story ids
    by_id: np.ndarray  # the order that sorts ``ids``
    rows: np.ndarray  # each one's row in pool.vectors; -1: a followed-topic story
    matrix: np.ndarray  # their features, the seen column as of ``seen``
    scores: np.ndarray
    floor: float  # the best score of a candidate left out (-inf: none was)
    seen: tuple[np.ndarray, np.ndarray]  # (story ids ascending, times shown) ranked with
    filtered: list[Filtered]
    profile: Profile  # follows, mutes and sources only: what choosing a lead looks at
    read_best: np.ndarray  # per kept row, its closest article read (index), -1: none
    read_titles: list[str]
    topics: list[str | None]  # per kept row: its topic this reader reads most about
    often: np.ndarray  # per kept row: two or more articles read carry that topic
    order: list[int] = field(default_factory=list)  # the feed order found so far (rows)
    complete: bool = False  # ``order`` holds every candidate diversify gives
    lock: threading.Lock = field(default_factory=threading.Lock)
    counted: int = 0  # its size when the cache counted it

    @property
    def nbytes(self) -> int:
        arrays = (self.matrix, self.scores, self.ids, self.by_id, self.rows, self.read_best)
        arrays += (self.often,)
        # list slots and small objects, roughly: enough to bound the cache, not to account
        refs = 8 * (len(self.stories) + len(self.topics)) + 40 * len(self.order)
        refs += 150 * len(self.filtered)
        return sum(a.nbytes for a in (*arrays, *self.seen)) + refs + 2_000

    def exact(self, depth: int) -> bool:
        """Whether the kept rows hold the best max(DIVERSITY_POOL, depth) candidates."""
        needed = max(DIVERSITY_POOL, depth)
        return self.floor == -np.inf or int((self.scores > self.floor).sum()) >= needed

    def reseen(self, seen: tuple[np.ndarray, np.ndarray]) -> bool:
        """Rank again with what the reader has been shown since (only the seen column
        changes); False when the kept rows cannot tell: rank afresh."""
        (before, was), (now, times) = self.seen, seen
        both = np.union1d(before, now)
        changed = both[_counts(both, before, was) != _counts(both, now, times)]
        if self.floor != -np.inf and not np.isin(changed, self.ids).all():
            return False  # a story left out was shown (by another process, say)
        if len(self.ids):
            column = _counts(self.ids, now, times).astype(np.float64)
            self.matrix[:, _SEEN] = np.log1p(column)
            self.scores = self.scorer.score(self.matrix)
        self.seen, self.order, self.complete = seen, [], False
        return True

    def order_to(self, depth: int) -> list[int]:
        """The feed order to at least ``depth`` items (check :meth:`exact` first). Pages
        already served keep their places: a deeper order only appends what they have not
        shown."""
        if len(self.order) >= depth or self.complete or not len(self.scores):
            return self.order
        # diversify looks at the best max(DIVERSITY_POOL, depth) candidates by score:
        # handing it just those (in that order) gives the same order, and needs the
        # vectors of those rows only.
        top = np.argsort(-self.scores, kind="stable")[: max(DIVERSITY_POOL, depth)]
        chosen = diversity.diversify(
            self.scores[top], self._vectors(top), [self.stories[i].primary for i in top], depth
        )
        fresh = [int(top[i]) for i in chosen]
        shown = set(self.order)
        self.order.extend(i for i in fresh if i not in shown)
        if len(fresh) < depth:
            self.complete = True
        return self.order

    def _vectors(self, indexes: np.ndarray) -> np.ndarray:
        vectors = self.pool.vectors
        rows = self.rows[indexes]
        out = vectors[np.maximum(rows, 0)] if len(vectors) else np.zeros((len(rows), 0))
        for n in np.flatnonzero(rows < 0):  # followed-topic stories: their own vectors
            vector = self.stories[indexes[n]].vector
            dim = out.shape[1]
            out[n] = vector if vector is not None and len(vector) == dim else 0.0
        return out


def _seen_before_this_visit(connection: Any, reader_id: int) -> dict[int, int]:
    now = _now()
    return event_store.seen(
        connection, reader_id, now - profile.SEEN_WINDOW, until=now - profile.VISIT
    )


def _seen(seen: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Times shown per story as two arrays, by story id: small to keep, quick to compare."""
    ids = np.fromiter(seen, dtype=np.int64, count=len(seen))
    times = np.fromiter(seen.values(), dtype=np.int32, count=len(seen))
    order = np.argsort(ids)
    return ids[order], times[order]


def _counts(ids: np.ndarray, known: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``counts`` of each of ``ids`` in ``known`` (ascending), 0 where it is not there."""
    out = np.zeros(len(ids), dtype=np.int64)
    if len(known) and len(ids):
        where = np.minimum(np.searchsorted(known, ids), len(known) - 1)
        found = known[where] == ids
        out[found] = counts[where[found]]
    return out


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def _carry(old: _Ranked, new: _Ranked) -> list[int]:
    """The order ``old`` served, as rows of ``new`` (the same reader ranked the same way,
    with more rows kept): paging on past the kept rows repeats and skips nothing."""
    served = old.ids[old.order]
    if not len(served) or not len(new.ids):
        return []
    where = np.minimum(np.searchsorted(new.ids, served, sorter=new.by_id), len(new.ids) - 1)
    rows = new.by_id[where]
    return [int(r) for r, i in zip(rows, served, strict=True) if new.ids[r] == i]


def _now() -> datetime:
    return datetime.now(UTC)


def _matrix(stories: list[PoolStory], dim: int) -> np.ndarray:
    out = np.zeros((len(stories), dim), dtype=np.float32)
    for i, s in enumerate(stories):
        if s.vector is not None and len(s.vector) == dim:
            out[i] = s.vector
    return out


_MARK = select(func.count(), func.max(events.c.id)).where(
    events.c.reader_id == bindparam("reader"), events.c.kind.in_(_ACTIONS)
)


def _mark(connection: Connection, reader_id: int) -> tuple[int, int]:
    """How many actions (events other than impressions) a reader has, and the newest one's
    id: it changes with every follow, hide, open … whichever process recorded it, and not
    with the impressions the feed records itself."""
    row = connection.execute(_MARK, {"reader": reader_id}).one()
    return int(row[0]), int(row[1] or 0)


class FeedBuilder:
    """Builds feeds from one store; one per :class:`~tidings.library.Tidings`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pool: _Pool | None = None
        self._scorer: tuple[float, int, Scorer] | None = None  # (checked, version, scorer)
        self._lock = threading.Lock()
        self._refreshing: threading.Thread | None = None
        # Articles readers acted on (their history), by id: read once, shared by every
        # reader; emptied with the pool on ingest. Bounded so a long-running server stays small.
        self._read: OrderedDict[int, Any] = OrderedDict()
        self._articles: OrderedDict[int, Article] = OrderedDict()  # leads shown in feeds
        self._ranked: OrderedDict[int, _Ranked] = OrderedDict()  # reader id → ranked list
        self._ranked_bytes = 0
        self._slots = threading.BoundedSemaphore(RANKING_SLOTS)
        self._writing = threading.Lock()  # impressions are written one request at a time
        # How feeds were made: ranked (afresh), reranked (for what was shown since), reused
        # (as kept), refilled (ranked afresh: the kept rows could not serve the page)
        self.stats: Counter[str] = Counter()

    def invalidate(self) -> None:
        """Forget the pool, scorer and ranked lists (after an ingest, or training): the next
        feed reloads."""
        with self._lock:
            self._pool = None
            self._scorer = None
            self._read.clear()
            self._articles.clear()
            self._ranked.clear()
            self._ranked_bytes = 0

    def warm(self) -> None:
        """Build the pool, load the scorer and the most followed topics' stories now, so the
        first readers after a server starts do not wait for them."""
        self.pool()
        self.scorer()
        with self._lock:
            loading = self._refreshing
        if loading is not None:
            loading.join()

    # -- shared state -----------------------------------------------------------------------

    def pool(self) -> _Pool:
        """The shared candidate pool. The first call builds it; once it is older than
        :data:`POOL_SECONDS` a background thread rebuilds it while readers keep being served
        from the old one, so no reader waits for a rebuild."""
        with self._lock:
            pool = self._pool
            if pool is None:
                pool = self._pool = self._build_pool()
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

    def _warm(self, pool: _Pool) -> None:
        """Load the most followed topics' stories, and the pool's lead articles, off the
        request path."""
        with self.engine.connect() as connection:
            popular = event_store.most_followed(connection, WARM_TOPICS)
        self._about(pool, set(popular))
        self._leads([s.lead_article_id for s in pool.stories])

    def _refresh(self) -> None:
        fresh = self._build_pool()
        with self._lock:
            old = self._pool
        if old is None:  # invalidated meanwhile: the next call builds
            return
        # Followed-topic lists carry over for ABOUT_SECONDS: thousands of topics are
        # followed, and reloading them all every minute would keep the cache cold.
        keep = time.monotonic() - ABOUT_SECONDS
        for key, (built, stories) in list(old.about.items()):
            if built >= keep:
                fresh.about[key] = (built, stories)
                for story in stories:
                    fresh.by_id.setdefault(story.story_id, story)
        # The most followed topics are loaded here, off the request path, so that the
        # readers who follow them never wait for the lookup.
        self._warm(fresh)
        with self._lock:
            if self._pool is not None:
                self._pool = fresh
                self._ranked.clear()  # ranked against the old pool: no longer used
                self._ranked_bytes = 0

    def _build_pool(self) -> _Pool:
        now = _now()
        with self.engine.connect() as connection:
            stories = candidate_store.newest(connection, POOL_STORIES)
            popularity = event_store.popularity(connection, now - POPULARITY_WINDOW)
        dim = next((len(s.vector) for s in stories if s.vector is not None), 0)
        newest = max((s.when for s in stories if s.when is not None), default=None)
        clock = newest if newest is not None and newest < now else now
        return _Pool(stories, _matrix(stories, dim), popularity, clock, time.monotonic())

    def scorer(self) -> Scorer:
        return self._current_scorer()[1]

    def _current_scorer(self) -> tuple[int, Scorer]:
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

    def _about(self, pool: _Pool, keys: set[str]) -> list[PoolStory]:
        """The newest stories about followed topics, loaded once per topic and kept for
        :data:`ABOUT_SECONDS` (across pool refreshes); the stories of all missing topics
        are read together."""
        missing = [k for k in keys if k not in pool.about]
        if missing:
            with self.engine.connect() as connection:
                found = {
                    key: candidate_store.about(connection, [key], FOLLOWED_STORIES)
                    for key in missing
                }
                unknown = {i for ids in found.values() for i in ids if i not in pool.by_id}
                for story in candidate_store.load(connection, sorted(unknown)):
                    pool.by_id[story.story_id] = story
            loaded = time.monotonic()
            for key, ids in found.items():
                pool.about[key] = (loaded, [pool.by_id[i] for i in ids if i in pool.by_id])
        return [s for k in keys for s in pool.about[k][1]]

    # -- one reader -------------------------------------------------------------------------

    def state(self, reader: Reader) -> tuple[profile.ReaderState, dict[int, Any]]:
        return self._state(reader, None)

    def _state(
        self, reader: Reader, seen: dict[int, int] | None
    ) -> tuple[profile.ReaderState, dict[int, Any]]:
        with self.engine.connect() as connection:
            log = event_store.for_reader(connection, reader.id)
            state = profile.fold(log)
            if seen is None:
                seen = _seen_before_this_visit(connection, reader.id)
            state.seen.update(seen)
            wanted = [*profile.history_ids(state), *state.fewer_like]
            read = self._read_articles(connection, wanted)
        return state, read

    def _leads(self, ids: list[int]) -> dict[int, Article]:
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

    def _read_articles(self, connection: Any, ids: list[int]) -> dict[int, Any]:
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

    def _profile(self, state: profile.ReaderState, read: dict[int, Any]) -> Profile:
        return profile.profile(
            state,
            now=_now(),
            vectors={i: a.vector for i, a in read.items() if a.vector is not None},
            topics={i: a.topics for i, a in read.items()},
            sources={i: a.source for i, a in read.items()},
        )

    def build(
        self, reader: Reader, *, limit: int = 30, cursor: str | None = None, record: bool = True
    ) -> FeedPage:
        limit = max(1, min(limit, MAX_LIMIT))
        offset = _offset(cursor)
        pool = self.pool()
        version, scorer = self._current_scorer()
        with self.engine.connect() as connection:
            mark = _mark(connection, reader.id)  # before the state is read: never newer
            seen = _seen_before_this_visit(connection, reader.id)
        key = (mark, pool.version, version)
        shown = _seen(seen)
        depth = offset + limit
        with self._lock:
            ranked = self._ranked.get(reader.id)
            if ranked is not None and ranked.key == key:
                self._ranked.move_to_end(reader.id)
            else:
                ranked = None
        items: list[FeedItem] | None = None
        how, had = "reused", ranked is not None
        if ranked is not None:
            with ranked.lock:
                # A first page shows what the reader has been shown since sinking; a cursor
                # pages on through the list the first page came from.
                fresh = cursor is None and not _same(ranked.seen, shown)
                if fresh:
                    how = "reranked"
                if (not fresh or ranked.reseen(shown)) and ranked.exact(depth):
                    chosen = ranked.order_to(depth)[offset:depth]
                    items = self._items(ranked, chosen, offset)
        if items is None:
            # Paging on past the kept rows ranks as the first page did, and keeps its order.
            paging = ranked if ranked is not None and cursor is not None else None
            with self._slots:
                ranked = self._rank(
                    reader, pool, scorer, key, paging.seen if paging else shown, depth
                )
            if paging is not None:
                ranked.order = _carry(paging, ranked)
            self._keep(reader.id, ranked)
            how = "refilled" if had else "ranked"
            with ranked.lock:
                chosen = ranked.order_to(depth)[offset:depth]
                items = self._items(ranked, chosen, offset)
        with self._lock:
            self.stats[how] += 1

        page = FeedPage(
            reader=reader,
            items=items,
            next_cursor=str(offset + limit) if len(chosen) == limit else None,
            filtered=ranked.filtered,
            scorer=getattr(scorer, "name", "scorer"),
            followed=frozenset(ranked.profile.followed),
        )
        if record and items:
            page.request = uuid.uuid4().hex
            now = _now()
            # One writer at a time per process: SQLite has one write lock, and a thread that
            # finds it taken sleeps in growing steps (up to 100 ms each) — 16 request threads
            # writing at once made the slowest feed wait seconds for its impressions.
            with self._writing, self.engine.begin() as connection:
                event_store.append(
                    connection,
                    reader.id,
                    [
                        Event(
                            Kind.IMPRESSION,
                            now,
                            article_id=i.article.id,
                            story_id=i.story_id,
                            request=page.request,
                            value=float(i.rank),
                        )
                        for i in items
                    ],
                )
        return page

    def _keep(self, reader_id: int, ranked: _Ranked) -> None:
        with self._lock:
            old = self._ranked.pop(reader_id, None)
            if old is not None:
                self._ranked_bytes -= old.counted
            if ranked.pool is not self._pool:  # the pool changed meanwhile: keep nothing
                return
            ranked.counted = ranked.nbytes
            self._ranked[reader_id] = ranked
            self._ranked_bytes += ranked.counted
            while self._ranked and (
                len(self._ranked) > RANKED_READERS or self._ranked_bytes > RANKED_MB * 2**20
            ):
                _, dropped = self._ranked.popitem(last=False)
                self._ranked_bytes -= dropped.counted

    def _rank(
        self,
        reader: Reader,
        pool: _Pool,
        scorer: Scorer,
        key: tuple[Any, ...],
        shown: tuple[np.ndarray, np.ndarray],
        depth: int,
    ) -> _Ranked:
        """Rank every candidate for one reader (the store reads and the features) and keep
        the best rows: :data:`KEPT_ROWS`, or more to serve ``depth`` items."""
        seen = dict(zip(shown[0].tolist(), shown[1].tolist(), strict=True))
        state, read = self._state(reader, seen)
        reader_profile = self._profile(state, read)

        stories, columns = self._candidates(pool, state)
        filtered = _filter(stories, state, columns, pool)
        if filtered:
            gone = np.fromiter(filtered, dtype=np.int64, count=len(filtered))
            keep = np.flatnonzero(~np.isin(columns.ids, gone))
        else:
            keep = np.arange(len(stories))
        kept = [stories[i] for i in keep]
        columns = columns.take(keep)
        rows = np.where(keep < len(pool.stories), keep, -1)
        vectors = pool.vectors[rows] if len(pool.vectors) else np.zeros((len(rows), 0))
        for n in np.flatnonzero(rows < 0):
            vector, dim = kept[n].vector, vectors.shape[1]
            vectors[n] = vector if vector is not None and len(vector) == dim else 0.0

        candidates = Candidates(
            ids=columns.ids,
            vectors=vectors,
            topics=[s.topics for s in kept],
            sources=_lead_sources(stories, pool, reader_profile, keep),
            age_hours=columns.age_hours,
            clicks=columns.clicks,
            impressions=columns.shown,
            outlets=columns.outlets,
            incidence=TopicIncidence(pool.codes, columns.rows_of_codes(), columns.codes),
        )
        matrix = features(reader_profile, candidates)
        scores = scorer.score(matrix) if len(kept) else np.zeros(0)

        # The best rows, in candidate order (so ties still break as over every candidate).
        best = np.argsort(-scores, kind="stable")
        count = max(KEPT_ROWS, depth + DIVERSITY_POOL)
        top = np.sort(best[:count])
        floor = float(scores[best[count]]) if len(best) > count else -np.inf
        top_stories = [kept[i] for i in top]

        # "Because you read …": each row's closest article read, found for all at once.
        history = [
            read[i] for i in profile.history_ids(state) if i in read and read[i].vector is not None
        ]
        read_best = np.full(len(top), -1, dtype=np.int16)
        if history and len(top) and reader_profile.history.shape[1] == vectors.shape[1]:
            sims = vectors[top] @ reader_profile.history.T
            closest = sims.argmax(axis=1)
            close = sims[np.arange(len(top)), closest] >= READ_SIMILARITY
            read_best[close] = closest[close]
        ids = columns.ids[top]
        topics, often = _reader_topics(top_stories, reader_profile, history)
        return _Ranked(
            key=key,
            pool=pool,
            scorer=scorer,
            stories=top_stories,
            ids=ids,
            by_id=np.argsort(ids).astype(np.int32),
            rows=rows[top].astype(np.int32),
            matrix=matrix[top],
            scores=scores[top],
            floor=floor,
            seen=shown,
            filtered=sorted(filtered.values(), key=lambda f: f.since or pool.clock, reverse=True),
            profile=Profile(
                source_affinity=reader_profile.source_affinity,
                followed=reader_profile.followed,
                muted=reader_profile.muted,
            ),
            read_best=read_best,
            read_titles=[a.title for a in history],
            topics=topics,
            often=often,
        )

    def _items(self, ranked: _Ranked, order: list[int], offset: int) -> list[FeedItem]:
        if not order:
            return []
        reader_profile = ranked.profile
        chosen = [ranked.stories[i] for i in order]
        leads = [_lead(s, reader_profile) for s in chosen]
        found = self._leads(leads)
        # What sets each item apart on this page: contributions every item shares (the
        # click-through prior, say) are no reason to show any one of them.
        contributions = ranked.scorer.contributions(ranked.matrix[order])
        contributions = contributions - contributions.mean(axis=0)
        items: list[FeedItem] = []
        for n, (index, story, lead) in enumerate(zip(order, chosen, leads, strict=True)):
            article = found.get(lead)
            if article is None:  # deleted since the pool was built
                continue
            best = int(ranked.read_best[index])
            evidence = _evidence(
                story,
                article,
                reader_profile,
                ranked.read_titles[best] if best >= 0 else None,
                ranked.topics[index],
                bool(ranked.often[index]),
                ranked.matrix[index],
            )
            reason = reasons.explain(contributions[n], ranked.matrix[index], evidence)
            items.append(
                FeedItem(
                    rank=offset + len(items) + 1,
                    story_id=story.story_id,
                    headline=story.headline,
                    article=article,
                    outlets=story.outlets,
                    articles=len(story.articles),
                    reason=reason,
                    score=float(ranked.scores[index]),
                )
            )
        return items

    def _candidate_stories(self, pool: _Pool, state: profile.ReaderState) -> list[PoolStory]:
        """The pool's stories, then those about the reader's followed topics outside it."""
        stories = list(pool.stories)
        topic_keys = {k for k in state.followed if not k.startswith("source:")}
        if topic_keys:
            extra = [s for s in self._about(pool, topic_keys) if s.story_id not in pool.row_of]
            stories.extend({s.story_id: s for s in extra}.values())
        return stories

    def _candidates(
        self, pool: _Pool, state: profile.ReaderState
    ) -> tuple[list[PoolStory], _Columns]:
        stories = self._candidate_stories(pool, state)
        assert pool.columns is not None
        columns = pool.columns
        if len(stories) > len(pool.stories):
            columns = columns + _Columns.of(stories[len(pool.stories) :], pool)
        return stories, columns

    def filtered(self, reader: Reader) -> list[Filtered]:
        """Every story kept out of this reader's feed, newest decision first (no ranking)."""
        pool = self.pool()
        state, _ = self.state(reader)
        stories, columns = self._candidates(pool, state)
        kept_out = _filter(stories, state, columns, pool).values()
        return sorted(kept_out, key=lambda f: f.since or pool.clock, reverse=True)


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


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = int(cursor)
    except ValueError:
        from tidings.errors import InputError

        raise InputError(cursor, "not a feed cursor (use the next_cursor of a page)") from None
    return max(0, offset)


def _filter(
    stories: list[PoolStory], state: profile.ReaderState, columns: _Columns, pool: _Pool
) -> dict[int, Filtered]:
    out: dict[int, Filtered] = {}
    if not (state.hidden or state.muted or state.read_stories):
        return out
    muted_sources = {m for m in state.muted if m.startswith("source:")}
    # Only stories that may be kept out are looked at one by one: hidden or read ones, and
    # those with a muted topic, found with arrays.
    marked = [*state.hidden, *state.read_stories]
    maybe = np.isin(columns.ids, np.fromiter(marked, dtype=np.int64, count=len(marked)))
    muted_codes = [code for key in state.muted if (code := pool.codes.get(key)) is not None]
    if muted_codes:
        maybe[columns.rows_of_codes()[np.isin(columns.codes, muted_codes)]] = True
    for n in np.flatnonzero(maybe) if not muted_sources else range(len(stories)):
        s = stories[n]
        if s.story_id in out:
            continue
        if s.story_id in state.hidden:
            out[s.story_id] = Filtered(
                s.story_id, s.headline, "hidden", "You hid this story", state.hidden[s.story_id]
            )
            continue
        muted = sorted(s.topics & state.muted) if state.muted else []
        if muted:
            name = s.names.get(muted[0], muted[0])
            out[s.story_id] = Filtered(s.story_id, s.headline, "muted", f"You muted {name}")
            continue
        if muted_sources:
            sources = {f"source:{src}" for _, src in s.articles if src}
            if sources and sources <= muted_sources:
                source = sorted(sources)[0].removeprefix("source:")
                out[s.story_id] = Filtered(s.story_id, s.headline, "muted", f"You muted {source}")
                continue
        if s.story_id in state.read_stories:
            out[s.story_id] = Filtered(
                s.story_id,
                s.headline,
                "read",
                "You already read this",
                state.read_stories[s.story_id],
            )
    return out


def _source_rank(source: str | None, reader_profile: Profile) -> float:
    if source is None:
        return -1.0
    if f"source:{source}" in reader_profile.muted:
        return -2.0
    followed = 1.0 if f"source:{source}" in reader_profile.followed else 0.0
    return followed + reader_profile.source_affinity.get(source, 0.0)


def _lead(story: PoolStory, reader_profile: Profile) -> int:
    """The story's article from the source this reader likes best, else the story's lead."""
    if (
        not reader_profile.followed
        and not reader_profile.source_affinity
        and not reader_profile.muted
    ):
        return story.lead_article_id
    best = max(story.articles, key=lambda a: _source_rank(a[1], reader_profile))
    if _source_rank(best[1], reader_profile) > 0:
        return best[0]
    return story.lead_article_id


def _lead_sources(
    stories: list[PoolStory], pool: _Pool, reader_profile: Profile, keep: np.ndarray
) -> list[str | None]:
    """Per kept candidate (``stories[keep]``), the source of the article this reader would
    be shown."""
    sources = [stories[i].lead_source for i in keep]
    if not (reader_profile.source_affinity or reader_profile.followed or reader_profile.muted):
        return sources
    rank = np.array([_source_rank(n, reader_profile) for n in pool.source_names])
    if not len(rank) or rank.max() <= 0:
        return sources
    best_score = np.where(pool.incidence > 0, rank, -np.inf)
    best = best_score.argmax(axis=1)
    liked = pool.mixed & (best_score[np.arange(len(best)), best] > 0)
    in_pool = keep < len(pool.stories)
    for n in np.flatnonzero(~in_pool):  # followed-topic stories outside the pool
        sources[n] = _lead_source(stories[keep[n]], reader_profile)
    for n in np.flatnonzero(in_pool):
        row = keep[n]
        if liked[row]:
            sources[n] = pool.source_names[best[row]]
    return sources


def _lead_source(story: PoolStory, reader_profile: Profile) -> str | None:
    if not story.mixed:
        return story.articles[0][1] if story.articles else None
    lead = _lead(story, reader_profile)
    return next((src for a, src in story.articles if a == lead), None)


def _reader_topics(
    stories: list[PoolStory], reader_profile: Profile, history: list[Any]
) -> tuple[list[str | None], np.ndarray]:
    """Per story, the topic of it this reader reads most about (by name; None when they
    read about none of them), and whether two or more of the articles they read carry it."""
    affinity = reader_profile.topic_affinity
    known = frozenset(affinity)
    names: list[str | None] = [None] * len(stories)
    often = np.zeros(len(stories), dtype=bool)
    if not known:
        return names, often
    read_about = Counter(key for a in history for key in set(a.topics))
    for n, story in enumerate(stories):
        if story.topics.isdisjoint(known):
            continue
        key = max(story.topics, key=lambda k: affinity.get(k, 0.0))
        if affinity.get(key, 0.0) > 0:
            names[n] = story.names.get(key, key)
            often[n] = read_about[key] >= 2
    return names, often


def _evidence(
    story: PoolStory,
    article: Article,
    reader_profile: Profile,
    read_title: str | None,
    topic: str | None,
    topic_often: bool,
    row: np.ndarray,
) -> reasons.Evidence:
    followed = sorted(story.topics & reader_profile.followed)
    followed_name = story.names.get(followed[0], followed[0]) if followed else None
    if (
        followed_name is None
        and article.source
        and f"source:{article.source}" in reader_profile.followed
    ):
        followed_name = article.source
    source = (
        article.source if reader_profile.source_affinity.get(article.source or "", 0) > 0 else None
    )
    return reasons.Evidence(
        followed=followed_name,
        topic=topic,
        topic_often=topic_often,
        read_title=read_title,
        source=source,
        outlets=story.outlets,
        clicked=bool(row[_POPULARITY] > 0),
        fresh=bool(row[_FRESHNESS] > FRESH),
    )
