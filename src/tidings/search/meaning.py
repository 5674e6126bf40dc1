"""Search by meaning: the store's article embeddings as one in-memory matrix, matched
against an embedded query by cosine similarity (the vectors are L2-normalised, so a dot
product). Brute force is fast enough at one machine's scale — 100k articles are a 150 MB
matrix; from :data:`TWO_STAGE_ROWS` on, a 128-dimensional projection is read first and only
the best candidates scored exactly. Beyond one machine, an index (pgvector, or a library
such as hnswlib) would take its place behind :meth:`Snapshot.nearest`.

The matrix holds the newest :data:`MAX_ARTICLES` embeddings by article id. New ones are
appended when a search finds the store has more (checked at most every
:data:`CHECK_SECONDS`); everything is reloaded every :data:`RELOAD_SECONDS`, which also
picks up articles understood again and drops deleted ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from tidings.store.schema import article_embeddings, articles
from tidings.understand.embeddings import DIMENSIONS

MAX_ARTICLES = 500_000
CHECK_SECONDS = 5.0
RELOAD_SECONDS = 900.0
_CHUNK = 20_000  # rows read per statement while loading
# From this many articles on, a search reads a 128-dimensional projection of the matrix
# first and computes exact cosines for the best CANDIDATES only: on real MiniLM queries the
# top 100 were the same as brute force's (measured on the demo's 8.9k articles).
TWO_STAGE_ROWS = 50_000
COARSE_DIMENSIONS = 128
CANDIDATES = 1_000


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The matrix as one search sees it (views: later appends do not change it)."""

    ids: np.ndarray  # int64 article ids, ascending
    vectors: np.ndarray  # float32 (n, DIMENSIONS)
    times: np.ndarray  # float64 POSIX seconds of each article's news time
    coarse: np.ndarray | None = None  # float32 (n, COARSE_DIMENSIONS): vectors @ basis
    basis: np.ndarray | None = None  # float32 (DIMENSIONS, COARSE_DIMENSIONS)

    def nearest(
        self, vector: np.ndarray, k: int, *, since: float | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` articles closest to ``vector``: (id, cosine) best first."""
        if not len(self.ids) or vector.shape[-1] != self.vectors.shape[1]:
            return []
        vector = vector.astype(np.float32, copy=False)
        if self.coarse is not None and self.basis is not None:
            # Two stages: the best CANDIDATES by the matrix's main directions (a third of
            # the memory to read), then exact cosines for those alone.
            rough = self.coarse @ (vector @ self.basis)
            if since is not None:
                rough = np.where(self.times >= since, rough, -np.inf)
            wanted = min(max(CANDIDATES, 10 * k), len(rough))
            rows = np.argpartition(-rough, wanted - 1)[:wanted]
            rows = rows[np.isfinite(rough[rows])]
            sims = self.vectors[rows] @ vector
        else:
            sims = self.vectors @ vector
            if since is not None:
                sims = np.where(self.times >= since, sims, -np.inf)
            rows = np.arange(len(sims))
        k = min(k, len(sims))
        if k == 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(self.ids[rows[i]]), float(sims[i])) for i in top if np.isfinite(sims[i])]


def basis_of(vectors: np.ndarray, dimensions: int, *, sample: int = 20_000) -> np.ndarray:
    """The ``dimensions`` main directions of ``vectors`` (right singular vectors of a random
    sample): dot products within them approximate the full ones."""
    rng = np.random.default_rng(0)
    rows = vectors[rng.choice(len(vectors), min(sample, len(vectors)), replace=False)]
    _, _, directions = np.linalg.svd(rows, full_matrices=False)
    return np.ascontiguousarray(directions[:dimensions].T, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class _Buffers:
    """The matrix as published: rows ``[:size]`` are set; the arrays may be longer (room to
    append). A new one replaces the old in one assignment, so a search never sees one
    array of a reload with another of the matrix before it."""

    ids: np.ndarray
    vectors: np.ndarray
    times: np.ndarray
    size: int = 0
    coarse: np.ndarray | None = None
    basis: np.ndarray | None = None

    def snapshot(self) -> Snapshot:
        n = self.size
        coarse = self.coarse[:n] if self.coarse is not None else None
        return Snapshot(self.ids[:n], self.vectors[:n], self.times[:n], coarse, self.basis)


_EMPTY = _Buffers(
    np.zeros(0, dtype=np.int64), np.zeros((0, DIMENSIONS), dtype=np.float32), np.zeros(0)
)


class MeaningIndex:
    """The store's embeddings in memory, shared by every search of one process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()  # one update at a time
        self._buffers = _EMPTY
        self._checked = 0.0
        self._loaded = -np.inf  # when everything was last read

    def snapshot(self) -> Snapshot:
        """The current matrix, brought up to date first when it is time to look. While one
        search updates it, the others go on with the matrix as it was (only the very first
        load is waited for)."""
        now = time.monotonic()
        if now - self._checked >= CHECK_SECONDS and self._lock.acquire(
            blocking=self._loaded == -np.inf
        ):
            try:
                if time.monotonic() - self._checked >= CHECK_SECONDS:
                    self._update(full=time.monotonic() - self._loaded >= RELOAD_SECONDS)
                    self._checked = time.monotonic()
            finally:
                self._lock.release()
        return self._buffers.snapshot()

    def invalidate(self) -> None:
        """Look for new embeddings at the next search (after an ingest in this process)."""
        self._checked = 0.0

    def _update(self, *, full: bool) -> None:
        held = self._buffers
        newest = int(held.ids[held.size - 1]) if held.size and not full else 0
        with self.engine.connect() as connection:
            top = connection.execute(select(func.max(article_embeddings.c.article_id))).scalar()
            if top is None or (not full and top <= newest):
                if full:
                    self._buffers = _EMPTY
                    self._loaded = time.monotonic()
                return
            floor = newest
            if full:
                # the newest MAX_ARTICLES: the id below which older ones are left out
                floor = (
                    connection.execute(
                        select(article_embeddings.c.article_id)
                        .order_by(article_embeddings.c.article_id.desc())
                        .offset(MAX_ARTICLES)
                        .limit(1)
                    ).scalar()
                    or 0
                )
            chunks = list(self._read(connection, floor))
        ids = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
        vectors = np.concatenate([c[1] for c in chunks]) if chunks else _EMPTY.vectors
        times = np.concatenate([c[2] for c in chunks]) if chunks else np.zeros(0)
        if full:
            fresh = _Buffers(ids, vectors, times, len(ids))
            self._loaded = time.monotonic()
        else:
            fresh = _appended(held, ids, vectors, times)
        if fresh.basis is None and fresh.size >= TWO_STAGE_ROWS:
            basis = basis_of(fresh.vectors[: fresh.size], COARSE_DIMENSIONS)
            coarse = fresh.vectors @ basis  # every row of the buffer, set or not
            fresh = _Buffers(fresh.ids, fresh.vectors, fresh.times, fresh.size, coarse, basis)
        self._buffers = fresh

    def _read(
        self, connection: Connection, after: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(ids, vectors, times) of the embeddings of articles with id > ``after``, in
        chunks (one statement each, so that a large store is never one huge result)."""
        while True:
            rows = connection.execute(
                select(
                    article_embeddings.c.article_id,
                    article_embeddings.c.vector,
                    func.coalesce(articles.c.published_at, articles.c.fetched_at),
                )
                .join(articles, articles.c.id == article_embeddings.c.article_id)
                .where(article_embeddings.c.article_id > after)
                .order_by(article_embeddings.c.article_id)
                .limit(_CHUNK)
            ).all()
            if not rows:
                return
            kept = [r for r in rows if len(r[1]) == DIMENSIONS * 4]
            ids = np.fromiter((r[0] for r in kept), dtype=np.int64, count=len(kept))
            vectors = np.frombuffer(b"".join(bytes(r[1]) for r in kept), dtype="<f4")
            times = np.array([r[2].timestamp() if r[2] else 0.0 for r in kept], dtype=np.float64)
            yield ids, vectors.reshape(-1, DIMENSIONS).astype(np.float32), times
            after = int(rows[-1][0])


def _appended(held: _Buffers, ids: np.ndarray, vectors: np.ndarray, times: np.ndarray) -> _Buffers:
    """``held`` with rows added after its own. Rows are written past the published size, so
    a search holding ``held`` never sees them; the arrays grow by doubling (appends cost
    amortised O(added))."""
    size, need = held.size, held.size + len(ids)
    grown = held
    if need > len(held.ids):
        room = max(need, 2 * len(held.ids), 1024)
        coarse = None
        if held.coarse is not None:
            coarse = np.zeros((room, COARSE_DIMENSIONS), dtype=np.float32)
            coarse[:size] = held.coarse[:size]
        grown = _Buffers(
            np.zeros(room, dtype=np.int64),
            np.zeros((room, DIMENSIONS), dtype=np.float32),
            np.zeros(room, dtype=np.float64),
            size,
            coarse,
            held.basis,
        )
        grown.ids[:size] = held.ids[:size]
        grown.vectors[:size] = held.vectors[:size]
        grown.times[:size] = held.times[:size]
    grown.ids[size:need] = ids
    grown.vectors[size:need] = vectors
    grown.times[size:need] = times
    if grown.coarse is not None and grown.basis is not None:
        grown.coarse[size:need] = vectors @ grown.basis
    return _Buffers(grown.ids, grown.vectors, grown.times, need, grown.coarse, grown.basis)
