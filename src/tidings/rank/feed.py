"""Assembling a reader's feed.

The one module of ``rank/`` that reads the store: it gathers candidate stories and the
reader's events, then hands plain data to the pure parts — :mod:`~tidings.rank.profile`,
:mod:`~tidings.rank.features`, a :mod:`~tidings.rank.scorer`,
:mod:`~tidings.rank.diversity` and :mod:`~tidings.rank.reasons`.

Candidates are the newest :data:`POOL_STORIES` stories plus the newest stories about every
topic the reader follows. The pool (stories, embeddings, popularity) is shared by all
readers and rebuilt every :data:`POOL_SECONDS`, or at once after an ingest.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from tidings.models import Article
from tidings.rank import diversity, profile, reasons
from tidings.rank.features import FEATURES, Candidates, Profile, features
from tidings.rank.scorer import PRIOR, Scorer, from_dict
from tidings.rank.signals import Event, Kind
from tidings.store import articles as article_store
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store.candidates import PoolStory
from tidings.store.readers import Reader
from tidings.store.schema import scorers

POOL_STORIES = 1000
POOL_SECONDS = 60.0
READ_CACHE = 50_000  # articles kept in memory for building profiles
ARTICLE_CACHE = 5_000  # whole articles kept in memory for showing feed items
ABOUT_SECONDS = 600.0  # how long a followed topic's story list is reused
WARM_TOPICS = 300  # the most followed topics, loaded in the background with each pool
FOLLOWED_STORIES = 40  # newest stories per followed topic, added to the pool
POPULARITY_WINDOW = timedelta(days=2)
SEEN_WINDOW = timedelta(days=7)  # impressions older than this no longer count as "seen"
MAX_LIMIT = 200
FRESH = 0.1  # freshness (about nine days old) under which "Among the newest stories" is no reason
READ_SIMILARITY = 0.25  # cosine to an article read, for "Because you read …" to name it


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


def _now() -> datetime:
    return datetime.now(UTC)


def _matrix(stories: list[PoolStory], dim: int) -> np.ndarray:
    out = np.zeros((len(stories), dim), dtype=np.float32)
    for i, s in enumerate(stories):
        if s.vector is not None and len(s.vector) == dim:
            out[i] = s.vector
    return out


class FeedBuilder:
    """Builds feeds from one store; one per :class:`~tidings.library.Tidings`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pool: _Pool | None = None
        self._scorer: tuple[float, Scorer] | None = None
        self._lock = threading.Lock()
        self._refreshing: threading.Thread | None = None
        # Articles readers acted on (their history), by id: read once, shared by every
        # reader; emptied with the pool on ingest. Bounded so a long-running server stays small.
        self._read: OrderedDict[int, Any] = OrderedDict()
        self._articles: OrderedDict[int, Article] = OrderedDict()  # leads shown in feeds

    def invalidate(self) -> None:
        """Forget the pool and scorer (after an ingest, or training): the next feed reloads."""
        with self._lock:
            self._pool = None
            self._scorer = None
            self._read.clear()
            self._articles.clear()

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
        """Load the most followed topics' stories off the request path."""
        with self.engine.connect() as connection:
            popular = event_store.most_followed(connection, WARM_TOPICS)
        self._about(pool, set(popular))

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
        with self._lock:
            if self._scorer is None or time.monotonic() - self._scorer[0] > POOL_SECONDS:
                self._scorer = (time.monotonic(), self._load_scorer())
            return self._scorer[1]

    def _load_scorer(self) -> Scorer:
        import json

        with self.engine.connect() as connection:
            row = connection.execute(
                select(scorers.c.model).order_by(scorers.c.id.desc()).limit(1)
            ).first()
        return PRIOR if row is None else from_dict(json.loads(row.model))

    def _about(self, pool: _Pool, keys: set[str]) -> list[PoolStory]:
        """The newest stories about followed topics, loaded once per topic and kept for
        :data:`ABOUT_SECONDS` (across pool refreshes)."""
        missing = [k for k in keys if k not in pool.about]
        if missing:
            with self.engine.connect() as connection:
                for key in missing:
                    ids = candidate_store.about(connection, [key], FOLLOWED_STORIES)
                    unknown = [i for i in ids if i not in pool.by_id]
                    for story in candidate_store.load(connection, unknown):
                        pool.by_id[story.story_id] = story
                    stories = [pool.by_id[i] for i in ids if i in pool.by_id]
                    pool.about[key] = (time.monotonic(), stories)
        return [s for k in keys for s in pool.about[k][1]]

    # -- one reader -------------------------------------------------------------------------

    def state(self, reader: Reader) -> tuple[profile.ReaderState, dict[int, Any]]:
        with self.engine.connect() as connection:
            log = event_store.for_reader(connection, reader.id)
            state = profile.fold(log)
            state.seen.update(event_store.seen(connection, reader.id, _now() - SEEN_WINDOW))
            wanted = [*profile.history_ids(state), *state.fewer_like]
            read = self._read_articles(connection, wanted)
        return state, read

    def _leads(self, ids: list[int]) -> dict[int, Article]:
        with self._lock:
            found = {i: self._articles[i] for i in ids if i in self._articles}
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
            found = {i: self._read[i] for i in ids if i in self._read}
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
        scorer = self.scorer()
        state, read = self.state(reader)
        reader_profile = self._profile(state, read)

        stories, vectors = self._candidate_stories(pool, state)
        filtered = _filter(stories, state)
        keep = [i for i, s in enumerate(stories) if s.story_id not in filtered]
        kept = [stories[i] for i in keep]
        kept_vectors = vectors[keep] if len(keep) else vectors[:0]
        candidates = _candidates(kept, kept_vectors, pool, reader_profile)
        matrix = features(reader_profile, candidates)
        scores = scorer.score(matrix) if len(kept) else np.zeros(0)
        order = diversity.diversify(
            scores, kept_vectors, [s.primary for s in kept], offset + limit
        )[offset:]
        history = [
            read[i] for i in profile.history_ids(state) if i in read and read[i].vector is not None
        ]
        items = self._items(order, kept, matrix, scores, scorer, reader_profile, history, offset)

        page = FeedPage(
            reader=reader,
            items=items,
            next_cursor=str(offset + limit) if len(order) == limit else None,
            filtered=sorted(filtered.values(), key=lambda f: f.since or pool.clock, reverse=True),
            scorer=getattr(scorer, "name", "scorer"),
        )
        if record and items:
            page.request = uuid.uuid4().hex
            now = _now()
            with self.engine.begin() as connection:
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

    def _items(
        self,
        order: list[int],
        kept: list[PoolStory],
        matrix: np.ndarray,
        scores: np.ndarray,
        scorer: Scorer,
        reader_profile: Profile,
        history: list[Any],
        offset: int,
    ) -> list[FeedItem]:
        if not order:
            return []
        chosen = [kept[i] for i in order]
        leads = [_lead(s, reader_profile) for s in chosen]
        found = self._leads(leads)
        # What sets each item apart on this page: contributions every item shares (the
        # click-through prior, say) are no reason to show any one of them.
        contributions = scorer.contributions(matrix[order])
        contributions = contributions - contributions.mean(axis=0)
        items: list[FeedItem] = []
        for n, (index, story, lead) in enumerate(zip(order, chosen, leads, strict=True)):
            article = found.get(lead)
            if article is None:  # deleted since the pool was built
                continue
            evidence = _evidence(story, article, reader_profile, history, matrix[index])
            reason = reasons.explain(contributions[n], matrix[index], evidence)
            items.append(
                FeedItem(
                    rank=offset + len(items) + 1,
                    story_id=story.story_id,
                    headline=story.headline,
                    article=article,
                    outlets=story.outlets,
                    articles=len(story.articles),
                    reason=reason,
                    score=float(scores[index]),
                )
            )
        return items

    def _candidate_stories(
        self, pool: _Pool, state: profile.ReaderState
    ) -> tuple[list[PoolStory], np.ndarray]:
        """The pool's stories plus those about the reader's followed topics, with vectors."""
        stories = list(pool.stories)
        vectors = pool.vectors
        topic_keys = {k for k in state.followed if not k.startswith("source:")}
        if topic_keys:
            extra = [s for s in self._about(pool, topic_keys) if s.story_id not in pool.row_of]
            extra = list({s.story_id: s for s in extra}.values())
            if extra:
                stories = stories + extra
                vectors = np.vstack([vectors, _matrix(extra, vectors.shape[1])])
        return stories, vectors

    def filtered(self, reader: Reader) -> list[Filtered]:
        """Every story kept out of this reader's feed, newest decision first (no ranking)."""
        pool = self.pool()
        state, _ = self.state(reader)
        stories, _ = self._candidate_stories(pool, state)
        kept_out = _filter(stories, state).values()
        return sorted(kept_out, key=lambda f: f.since or pool.clock, reverse=True)


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = int(cursor)
    except ValueError:
        from tidings.errors import InputError

        raise InputError(cursor, "not a feed cursor (use the next_cursor of a page)") from None
    return max(0, offset)


def _filter(stories: list[PoolStory], state: profile.ReaderState) -> dict[int, Filtered]:
    out: dict[int, Filtered] = {}
    if not (state.hidden or state.muted or state.read_stories):
        return out
    muted_sources = {m for m in state.muted if m.startswith("source:")}
    for s in stories:
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


def _candidates(
    stories: list[PoolStory], vectors: np.ndarray, pool: _Pool, reader_profile: Profile
) -> Candidates:
    clock = pool.clock
    age = np.array(
        [
            (clock - s.when).total_seconds() / 3600 if s.when is not None else np.nan
            for s in stories
        ],
        dtype=np.float64,
    )
    popular = [pool.popularity.get(s.story_id, (0, 0)) for s in stories]
    return Candidates(
        ids=[s.story_id for s in stories],
        vectors=vectors,
        topics=[s.topics for s in stories],
        sources=_lead_sources(stories, pool, reader_profile),
        age_hours=age,
        clicks=np.array([c for c, _ in popular], dtype=np.float64),
        impressions=np.array([n for _, n in popular], dtype=np.float64),
        outlets=np.array([s.outlets for s in stories], dtype=np.float64),
    )


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
    stories: list[PoolStory], pool: _Pool, reader_profile: Profile
) -> list[str | None]:
    """Per candidate, the source of the article this reader would be shown."""
    sources = [s.lead_source for s in stories]
    if not (reader_profile.source_affinity or reader_profile.followed or reader_profile.muted):
        return sources
    rank = np.array([_source_rank(n, reader_profile) for n in pool.source_names])
    if not len(rank) or rank.max() <= 0:
        return sources
    rows = pool.row_of
    best_score = np.where(pool.incidence > 0, rank, -np.inf)
    best = best_score.argmax(axis=1)
    for n, story in enumerate(stories):
        row = rows.get(story.story_id)
        if row is None:
            sources[n] = _lead_source(story, reader_profile)
        elif story.mixed and best_score[row, best[row]] > 0:
            sources[n] = pool.source_names[best[row]]
    return sources


def _lead_source(story: PoolStory, reader_profile: Profile) -> str | None:
    if not story.mixed:
        return story.articles[0][1] if story.articles else None
    lead = _lead(story, reader_profile)
    return next((src for a, src in story.articles if a == lead), None)


def _evidence(
    story: PoolStory,
    article: Article,
    reader_profile: Profile,
    history: list[Any],
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
    topic, read_about = None, 0
    if reader_profile.topic_affinity and story.topics:
        key = max(story.topics, key=lambda k: reader_profile.topic_affinity.get(k, 0.0))
        read_about = sum(key in a.topics for a in history)
        if reader_profile.topic_affinity.get(key, 0.0) > 0:
            topic = story.names.get(key, key)
    read_title = None
    if history and story.vector is not None:
        sims = [float(story.vector @ a.vector) for a in history]
        best = int(np.argmax(sims))
        if sims[best] >= READ_SIMILARITY:
            read_title = history[best].title
    source = (
        article.source if reader_profile.source_affinity.get(article.source or "", 0) > 0 else None
    )
    return reasons.Evidence(
        followed=followed_name,
        topic=topic,
        topic_often=read_about >= 2,
        read_title=read_title,
        source=source,
        outlets=story.outlets,
        clicked=bool(row[FEATURES.index("popularity")] > 0),
        fresh=bool(row[FEATURES.index("freshness")] > FRESH),
    )
