"""Assembling a reader's feed: the orchestration of one feed request.

It reads the reader's events, then hands plain data to the pure parts —
:mod:`~tidings.rank.profile`, :mod:`~tidings.rank.features`, a :mod:`~tidings.rank.scorer`,
:mod:`~tidings.rank.diversity` and :mod:`~tidings.rank.reasons` — and to the modules that
hold its own concerns: the shared candidate pool (:mod:`~tidings.rank.pool`) and keeping it
and the scorer up to date (:mod:`~tidings.rank.pool_keeper`), the stories about what the
reader follows (:mod:`~tidings.rank.followed`), one reader's kept ranking
(:mod:`~tidings.rank.ranking`), what is kept in memory between requests — rankings, what
each reader was shown, the articles read and shown (:mod:`~tidings.rank.reader_memory`) —
what is kept out (:mod:`~tidings.rank.filtering`), each story's lead and its reason's
particulars (:mod:`~tidings.rank.leads`) and the page it answers (:mod:`~tidings.rank.page`).

Candidates are the newest :data:`POOL_STORIES` stories plus the newest stories about every
topic the reader follows, and those matching every search they follow (a follow of
``search:<query>``; such a story counts as followed, and its reason names the search).
The pool (stories, embeddings, popularity, and the per-story columns the features need) is
shared by all readers and rebuilt every :data:`~tidings.rank.pool.POOL_SECONDS`, or at once
after an ingest.

A reader's ranking (its best :data:`KEPT_ROWS` candidates with their features) is kept
(:mod:`~tidings.rank.reader_memory`) under a key of their last action (any event but an
impression), the pool and the scorer. The first page again reads only what the feed showed
since, and those stories sink (only the ``seen`` column is recomputed). Any action, ingest,
understand or training changes the key, so its effect shows in the very next feed. At most
:data:`RANKING_SLOTS` feeds are ranked afresh at once per process.

A first page keeps the order it was ranked into (:data:`SNAPSHOT_DEPTH` stories) as a
snapshot in the database, and its cursor names a place in it (:mod:`~tidings.rank.cursor`):
later pages, served by any worker, read on through that order — no story repeats and none
is skipped while articles arrive; those hidden, muted or read since are passed over.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, func, select

from tidings.errors import NotFound
from tidings.models import Article
from tidings.rank import cursor as cursors
from tidings.rank import leads, profile, reasons
from tidings.rank.features import FEATURES, Candidates, Profile, TopicIncidence, features
from tidings.rank.filtering import kept_out
from tidings.rank.followed import Followed, StoryMatcher
from tidings.rank.page import Encoded, FeedItem, FeedPage, Filtered
from tidings.rank.pool import FOLLOWED_STORIES, POOL_STORIES, POPULARITY_WINDOW, Pool
from tidings.rank.pool_keeper import PoolKeeper
from tidings.rank.ranking import DIVERSITY_POOL, KEPT_ROWS, Ranked, same
from tidings.rank.reader_memory import ReaderMemory
from tidings.rank.scorer import Scorer
from tidings.rank.signals import Kind
from tidings.store import snapshots as snapshot_store
from tidings.store.candidates import PoolStory
from tidings.store.impression_log import ImpressionLog
from tidings.store.readers import Reader, to_reader
from tidings.store.schema import events, readers

__all__ = [
    "FOLLOWED_STORIES",
    "POOL_STORIES",
    "POPULARITY_WINDOW",
    "FeedBuilder",
    "FeedItem",
    "FeedPage",
    "Filtered",
]

MAX_LIMIT = 200
READ_SIMILARITY = 0.25  # cosine to an article read, for "Because you read …" to name it
# Feeds ranked at once per process; more wait. Ranking is CPU-bound Python and NumPy: on a
# few cores more at once only interleave (each takes longer) and hold more matrices.
RANKING_SLOTS = 4
# Stories a first page's snapshot holds (a later page past them extends it by as many).
SNAPSHOT_DEPTH = 200

_ACTIONS = tuple(str(k) for k in Kind if k is not Kind.IMPRESSION)
_IMPRESSION = str(Kind.IMPRESSION)
_FOLLOWED = FEATURES.index("followed")


def _now() -> datetime:
    return datetime.now(UTC)


def _actions(reader_id: Any) -> Any:
    return events.c.reader_id == reader_id, events.c.kind.in_(_ACTIONS)


_MARK = select(func.count(), func.max(events.c.id)).where(*_actions(bindparam("reader")))
_READER_AND_MARK = select(
    readers,
    select(func.count()).where(*_actions(readers.c.id)).scalar_subquery().label("actions"),
    select(func.max(events.c.id)).where(*_actions(readers.c.id)).scalar_subquery().label("last"),
)


_BY_ID = _READER_AND_MARK.where(readers.c.id == bindparam("id"))
_BY_NAME = _READER_AND_MARK.where(readers.c.name == bindparam("name"))


def _mark(connection: Connection, reader_id: int) -> tuple[int, int]:
    """How many actions (events other than impressions) a reader has, and the newest one's
    id: it changes with every follow, hide, open … whichever process recorded it, and not
    with the impressions the feed records itself."""
    row = connection.execute(_MARK, {"reader": reader_id}).one()
    return int(row[0]), int(row[1] or 0)


def _reader_and_mark(
    connection: Connection, reader: Reader | str | int
) -> tuple[Reader, tuple[int, int]]:
    """The reader (by name or id, or as given) and their action mark: one statement."""
    if isinstance(reader, Reader):
        return reader, _mark(connection, reader.id)
    if isinstance(reader, int):
        row = connection.execute(_BY_ID, {"id": reader}).first()
    else:
        row = connection.execute(_BY_NAME, {"name": reader.strip()}).first()
    if row is None:
        raise NotFound(f"no reader named {reader!r}")
    return to_reader(row), (int(row.actions), int(row.last or 0))


class FeedBuilder:
    """Builds feeds from one store; one per :class:`~tidings.library.Tidings`."""

    def __init__(self, engine: Engine, *, searcher: StoryMatcher | None = None) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self.followed = Followed(engine, searcher)
        # rankings, what was shown, articles read and shown: guarded by the same lock
        self.memory = ReaderMemory(engine, self._lock, current=lambda: self.pools.current)
        self.pools = PoolKeeper(
            engine, self._lock, replaced=self.memory.pool_changed, warm=self._warm
        )
        self._slots = threading.BoundedSemaphore(RANKING_SLOTS)
        self._writing = threading.Lock()  # one writer at a time per process (SQLite)
        self.impressions = ImpressionLog(engine, writing=self._writing)
        # How feeds were made: ranked (afresh), reranked (for what was shown since), reused
        # (as kept), refilled (ranked afresh: the kept rows could not serve the page)
        self.stats: Counter[str] = Counter()

    def invalidate(self) -> None:
        """After an ingest, understanding or training: the next feed first brings the pool
        up to date (loading only new and changed stories) and checks the scorer. Rankings
        are kept while the pool's stories are unchanged (an ingest of articles not yet
        understood changes none); their pages are made again, as articles may have."""
        self.pools.invalidate()
        self.memory.forget()

    def close(self) -> None:
        """Write the impressions still queued, and let a pool rebuild under way finish."""
        self.impressions.close()
        self.pools.close()

    def warm(self) -> None:
        """Build the pool, load the scorer and the most followed topics' stories now, so the
        first readers after a server starts do not wait for them."""
        self.pools.warm()

    # -- shared state -----------------------------------------------------------------------

    @property
    def searcher(self) -> StoryMatcher | None:
        return self.followed.searcher

    def pool(self) -> Pool:
        """The shared candidate pool (:meth:`PoolKeeper.pool`): built on the first call,
        rebuilt in the background once it is older than :data:`~tidings.rank.pool.POOL_SECONDS`."""
        return self.pools.pool()

    def scorer(self) -> Scorer:
        return self.pools.scorer()[1]

    @property
    def _pool(self) -> Pool | None:  # the feed benchmark watches it for rebuilds
        return self.pools.current

    def _build_pool(self, old: Pool | None = None, *, about: bool = True) -> Pool:
        return self.pools.build(old, about=about)  # the feed benchmark times it

    def _warm(self, pool: Pool) -> None:
        """Load the most followed topics' (and searches') stories, and the pool's lead
        articles, off the request path."""
        self.followed.warm(pool)
        self.memory.leads([s.lead_article_id for s in pool.stories])

    # -- one reader -------------------------------------------------------------------------

    def state(self, reader: Reader) -> tuple[profile.ReaderState, dict[int, Any]]:
        return self.memory.state(reader, None)

    def _profile(self, state: profile.ReaderState, read: dict[int, Any]) -> Profile:
        return profile.of_read(state, read, now=_now())

    def build(
        self,
        reader: Reader | str | int,
        *,
        limit: int = 30,
        cursor: str | None = None,
        record: bool = True,
    ) -> FeedPage:
        """A page of the reader's feed (a reader, or their name or id: then the reader and
        their action mark are one store read). Without ``cursor``, the first: the reader is
        ranked (or their kept ranking reused) and the order is kept as a snapshot that the
        page's ``next_cursor`` names a place in; with one, the next stories of that snapshot.
        :class:`~tidings.rank.cursor.StaleCursor` when it has expired.

        A returning reader whose feed has not changed costs one store read (their action
        mark): what they were shown before this visit, their ranking and the page itself are
        kept in memory. ``record``: log the items shown as impressions (:meth:`record`)."""
        limit = max(1, min(limit, MAX_LIMIT))
        place = cursors.parse(cursor) if cursor else None
        pool = self.pool()
        version, scorer = self.pools.scorer()
        with self.engine.connect() as connection:
            # the mark is read before the state is: never newer than it
            reader, mark = _reader_and_mark(connection, reader)
            shown = self.memory.seen_arrays(connection, reader.id, mark)
            snapshot = (
                snapshot_store.get(connection, reader.id, place.snapshot, now=_now())
                if place is not None
                else None
            )
        if place is not None and (snapshot is None or place.position > len(snapshot)):
            raise cursors.StaleCursor()
        key = (mark, pool.version, version)
        encoded = None
        if place is None or snapshot is None:
            ranked, encoded = self._first_page(reader, pool, scorer, key, shown, limit)
            items, next_cursor = encoded.items, encoded.next_cursor
        else:
            ranked, items, next_cursor = self._next_page(
                reader, pool, scorer, key, shown, limit, place, snapshot
            )
        page = self._page(reader, ranked, pool, scorer, items, next_cursor, encoded)
        if record:
            self.record(page)
        return page

    def kept(self, reader: Reader | str | int, *, limit: int = 30) -> FeedPage | None:
        """The reader's first page as :meth:`build` would make it, if that needs no more
        than the store read of their action mark (and, once a minute, of what they were
        shown before): their page is kept and nothing changed for them. None when it must
        be made: call :meth:`build`. A server answers a
        returning reader with this on its event loop, and hands only the rest to threads.
        Nothing is logged: :meth:`record` the page once it is sent."""
        limit = max(1, min(limit, MAX_LIMIT))
        settled = self.pools.settled()
        if settled is None:
            return None  # due for a refresh (or not built yet): build starts it
        pool, version, scorer = settled
        with self.engine.connect() as connection:
            reader, mark = _reader_and_mark(connection, reader)
            ranked = self.memory.kept(reader.id, (mark, pool.version, version))
            if ranked is None:
                return None
            # what they were shown before: kept, or read again once a minute (a second read)
            shown = self.memory.seen_arrays(connection, reader.id, mark)
        with ranked.lock:
            encoded = ranked.pages.get(limit) if ranked.seen is shown else None
        if encoded is None:
            return None
        self._count("reused")
        return self._page(reader, ranked, pool, scorer, encoded.items, encoded.next_cursor, encoded)

    @staticmethod
    def _page(
        reader: Reader,
        ranked: Ranked,
        pool: Pool,
        scorer: Scorer,
        items: list[FeedItem],
        next_cursor: str | None,
        encoded: Encoded | None,
    ) -> FeedPage:
        return FeedPage(
            reader=reader,
            items=items,
            next_cursor=next_cursor,
            filtered=ranked.filtered,
            scorer=getattr(scorer, "name", "scorer"),
            followed=frozenset(ranked.profile.followed),
            clock=pool.clock,
            encoded=encoded,
        )

    def record(self, page: FeedPage, *, now: bool = False) -> None:
        """Log a page's items as shown (impressions of one request id, each with its rank):
        written at once, or queued when :attr:`impressions` is deferred (a server) and not
        ``now``."""
        if not page.items:
            return
        page.request = request = uuid.uuid4().hex
        when, reader_id, kind = _now(), page.reader.id, _IMPRESSION
        self.impressions.add(
            [
                (reader_id, kind, i.article.id, i.story_id, None, float(i.rank), request, when)
                for i in page.items
            ],
            now=now,
        )

    def _count(self, how: str) -> None:
        with self._lock:
            self.stats[how] += 1

    def _first_page(
        self,
        reader: Reader,
        pool: Pool,
        scorer: Scorer,
        key: tuple[Any, ...],
        shown: tuple[np.ndarray, np.ndarray],
        limit: int,
    ) -> tuple[Ranked, Encoded]:
        """The first page: the kept ranking (what the reader was shown since sinking), or a
        new one; its order to :data:`SNAPSHOT_DEPTH` is saved as the snapshot later pages
        read (once per order: showing the same first page again writes nothing, and makes
        nothing again)."""
        depth = max(SNAPSHOT_DEPTH, limit)
        ranked = self.memory.kept(reader.id, key)
        if ranked is not None:
            with ranked.lock:
                fresh = not same(ranked.seen, shown)
                usable = (not fresh or ranked.reseen(shown)) and ranked.exact(depth)
                page = ranked.pages.get(limit) if usable else None
            if page is not None:
                self._count("reused")
                return ranked, page
            if usable:
                self._count("reranked" if fresh else "reused")
            else:
                ranked = None
        if ranked is None:
            with self._slots:
                ranked = self._rank(reader, pool, scorer, key, shown, depth)
            self.memory.keep(reader.id, ranked)
            self._count("ranked")
        with ranked.lock:
            order = list(ranked.order_to(depth))
            if ranked.snapshot is None:
                with self._writing, self.engine.begin() as connection:
                    ranked.snapshot = snapshot_store.save(
                        connection, reader.id, ranked.ids[order].tolist(), now=_now()
                    )
            snapshot = ranked.snapshot
            rows = order[:limit]
            items = self._items(ranked, rows, list(range(len(rows))))
            more = len(order) > len(rows) or (len(rows) == limit and not ranked.complete)
            next_cursor = str(cursors.Place(snapshot, len(rows))) if more else None
            page = ranked.pages[limit] = Encoded(items, next_cursor)
        return ranked, page

    def _next_page(
        self,
        reader: Reader,
        pool: Pool,
        scorer: Scorer,
        key: tuple[Any, ...],
        shown: tuple[np.ndarray, np.ndarray],
        limit: int,
        place: cursors.Place,
        snapshot: list[int],
    ) -> tuple[Ranked, list[FeedItem], str | None]:
        """The stories of ``snapshot`` from ``place`` on, passing over those hidden, muted
        or read since (and any regrouped away); past its end, the snapshot is extended with
        the reader's best stories it does not hold yet, so paging goes on without a repeat."""
        wanted = snapshot[place.position :]
        ranked = self.memory.kept(reader.id, key)
        if ranked is None or not _covers(ranked, wanted):
            with self._slots:
                ranked = self._rank(reader, pool, scorer, key, shown, KEPT_ROWS, include=wanted)
            known = set(ranked.ids.tolist()) | {f.story_id for f in ranked.filtered}
            ranked.gone = frozenset(wanted) - known  # regrouped or deleted since
            self.memory.keep(reader.id, ranked)
            self._count("refilled")
        else:
            self._count("reused")
        with ranked.lock:
            row_of = {int(story): row for row, story in enumerate(ranked.ids.tolist())}
            rows: list[int] = []
            positions: list[int] = []
            position = place.position
            while len(rows) < limit:
                if position == len(snapshot):
                    added = _beyond(ranked, snapshot)
                    if not added:
                        break
                    snapshot = [*snapshot, *added]
                    with self._writing, self.engine.begin() as connection:
                        snapshot_store.extend(connection, place.snapshot, snapshot)
                row = row_of.get(snapshot[position])
                if row is not None:
                    rows.append(row)
                    positions.append(position)
                position += 1
            items = self._items(ranked, rows, positions)
        more = position < len(snapshot) or len(rows) == limit
        next_cursor = str(cursors.Place(place.snapshot, position)) if more else None
        return ranked, items, next_cursor

    def _rank(
        self,
        reader: Reader,
        pool: Pool,
        scorer: Scorer,
        key: tuple[Any, ...],
        shown: tuple[np.ndarray, np.ndarray],
        depth: int,
        *,
        include: Sequence[int] = (),
    ) -> Ranked:
        """Rank every candidate for one reader (the store reads and the features) and keep
        the best rows: :data:`KEPT_ROWS`, or more to serve ``depth`` items, and the stories
        of ``include`` (a snapshot being paged through) wherever they rank."""
        seen = dict(zip(shown[0].tolist(), shown[1].tolist(), strict=True))
        state, read = self.memory.state(reader, seen)
        reader_profile = self._profile(state, read)

        stories, columns = self.followed.candidates(pool, state, include)
        filtered = kept_out(stories, state, columns, pool)
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
            sources=leads.lead_sources(stories, pool, reader_profile, keep),
            age_hours=columns.age_hours,
            clicks=columns.clicks,
            impressions=columns.shown,
            outlets=columns.outlets,
            incidence=TopicIncidence(pool.codes, columns.rows_of_codes(), columns.codes),
        )
        matrix = features(reader_profile, candidates)
        # A story matching a search the reader follows counts as followed, for them alone.
        searched = self.followed.search_matches(pool, state.followed)
        if searched and len(kept):
            wanted = np.fromiter(searched, dtype=np.int64, count=len(searched))
            matrix[np.isin(columns.ids, wanted), _FOLLOWED] = 1.0
        scores = scorer.score(matrix) if len(kept) else np.zeros(0)

        # The best rows, in candidate order (so ties still break as over every candidate).
        best = np.argsort(-scores, kind="stable")
        count = max(KEPT_ROWS, depth + DIVERSITY_POOL)
        top = np.sort(best[:count])
        if len(include):
            wanted = np.fromiter(include, dtype=np.int64, count=len(include))
            top = np.union1d(top, np.flatnonzero(np.isin(columns.ids, wanted)))
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
        topics, often = leads.reader_topics(top_stories, reader_profile, history)
        return Ranked(
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

    def _items(self, ranked: Ranked, order: list[int], positions: list[int]) -> list[FeedItem]:
        """Feed items for kept rows ``order`` (at these snapshot ``positions``), each with a
        reason true of the article shown, varied across the page."""
        if not order:
            return []
        reader_profile = ranked.profile
        chosen = [ranked.stories[i] for i in order]
        lead_ids = [leads.lead(s, reader_profile) for s in chosen]
        found = self.memory.leads(lead_ids)
        # What sets each item apart on this page: contributions every item shares (the
        # click-through prior, say) are no reason to show any one of them.
        contributions = ranked.scorer.contributions(ranked.matrix[order])
        contributions = contributions - contributions.mean(axis=0)
        searched = self.followed.search_matches(ranked.pool, reader_profile.followed)
        shown: list[tuple[int, PoolStory, Article, list[reasons.Reason]]] = []
        for n, (index, story, lead) in enumerate(zip(order, chosen, lead_ids, strict=True)):
            article = found.get(lead)
            if article is None:  # deleted since the pool was built
                continue
            best = int(ranked.read_best[index])
            evidence = leads.evidence(
                story,
                article,
                reader_profile,
                ranked.read_titles[best] if best >= 0 else None,
                ranked.topics[index],
                bool(ranked.often[index]),
                ranked.matrix[index],
                search=searched.get(story.story_id),
            )
            options = reasons.choices(contributions[n], ranked.matrix[index], evidence)
            shown.append((n, story, article, options))
        chosen_reasons = reasons.vary([options for *_, options in shown])
        return [
            FeedItem(
                rank=positions[n] + 1,
                story_id=story.story_id,
                headline=story.headline,
                article=article,
                outlets=story.outlets,
                articles=len(story.articles),
                reason=reason,
                score=float(ranked.scores[order[n]]),
            )
            for (n, story, article, _), reason in zip(shown, chosen_reasons, strict=True)
        ]

    def filtered(self, reader: Reader) -> list[Filtered]:
        """Every story kept out of this reader's feed, newest decision first (no ranking)."""
        pool = self.pool()
        state, _ = self.state(reader)
        stories, columns = self.followed.candidates(pool, state)
        out = kept_out(stories, state, columns, pool).values()
        return sorted(out, key=lambda f: f.since or pool.clock, reverse=True)


def _covers(ranked: Ranked, stories: Sequence[int]) -> bool:
    """Whether a ranking knows every one of ``stories``: as a kept row, or as kept out."""
    known = set(ranked.ids.tolist()) | {f.story_id for f in ranked.filtered} | ranked.gone
    return known.issuperset(stories)


def _beyond(ranked: Ranked, snapshot: list[int]) -> list[int]:
    """The ranking's next :data:`SNAPSHOT_DEPTH` stories in feed order that ``snapshot``
    does not hold yet (none: the reader has seen the whole ranking)."""
    held = set(snapshot)
    order = ranked.order_to(len(snapshot) + SNAPSHOT_DEPTH)
    ids = ranked.ids[order].tolist() if order else []
    return [int(i) for i in ids if i not in held][:SNAPSHOT_DEPTH]
