"""One reader's ranking, kept between requests: the best candidates with their features
and scores, and the feed order (diversified) found so far."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tidings.rank import diversity
from tidings.rank.features import FEATURES, Profile
from tidings.rank.page import Filtered
from tidings.rank.pool import Pool
from tidings.rank.scorer import Scorer
from tidings.store.candidates import PoolStory

DIVERSITY_POOL = 300  # the best candidates diversify considers (its own default)
# Candidates kept per ranked reader, best first: a page is exact while DIVERSITY_POOL of
# them still score above every candidate left out (each first page shown sinks ~30).
KEPT_ROWS = 500
_SEEN = FEATURES.index("seen")


@dataclass(slots=True)
class Ranked:
    """One reader's ranking, kept so that the next page slices the same list and the same
    page again needs no store reads and no feature building.

    Only the best :data:`KEPT_ROWS` candidates by score are kept (with their features), and
    the best score of those left out (``floor``): while at least :data:`DIVERSITY_POOL`
    kept rows score above it, the page is exactly what ranking every candidate would give;
    once too many have sunk below it (or a story left out was shown), the reader is ranked
    afresh.
    """

    key: tuple[Any, ...]  # (reader's action mark, pool version, scorer version)
    pool: Pool
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
    snapshot: int | None = None  # the saved snapshot of ``order`` (None: not saved yet)
    gone: frozenset[int] = frozenset()  # stories asked for that no longer exist
    # First pages made from this ranking as it stands, by their size: showing the same page
    # again (nothing changed for the reader) needs neither reasons nor encoding again.
    pages: dict[int, Any] = field(default_factory=dict)

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
        changed = both[counts_of(both, before, was) != counts_of(both, now, times)]
        if self.floor != -np.inf and not np.isin(changed, self.ids).all():
            return False  # a story left out was shown (by another process, say)
        if len(self.ids):
            column = counts_of(self.ids, now, times).astype(np.float64)
            self.matrix[:, _SEEN] = np.log1p(column)
            self.scores = self.scorer.score(self.matrix)
        self.seen, self.order, self.complete, self.snapshot = seen, [], False, None
        self.pages = {}
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
            self.scores[top],
            self._vectors(top),
            [self.stories[i].primary for i in top],
            depth,
            sections=[self.stories[i].section for i in top],
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


def seen_arrays(seen: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Times shown per story as two arrays, by story id: small to keep, quick to compare."""
    ids = np.fromiter(seen, dtype=np.int64, count=len(seen))
    times = np.fromiter(seen.values(), dtype=np.int32, count=len(seen))
    order = np.argsort(ids)
    return ids[order], times[order]


def counts_of(ids: np.ndarray, known: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``counts`` of each of ``ids`` in ``known`` (ascending), 0 where it is not there."""
    out = np.zeros(len(ids), dtype=np.int64)
    if len(known) and len(ids):
        where = np.minimum(np.searchsorted(known, ids), len(known) - 1)
        found = known[where] == ids
        out[found] = counts[where[found]]
    return out


def same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
