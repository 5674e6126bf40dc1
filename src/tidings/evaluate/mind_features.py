"""A MIND impression as the ranker sees it: article vectors (:func:`embed_texts`, cached on
disk), the reader's :class:`~tidings.rank.features.Profile`, the candidates'
:class:`~tidings.rank.features.Candidates`, and the feature rows of many impressions stacked
(:func:`build_rows`)."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tidings.evaluate.mind_log import Impression
from tidings.evaluate.mind_popularity import Popularity
from tidings.rank.features import FEATURES, Candidates, Profile, features
from tidings.understand import quantize
from tidings.understand.embeddings import Embedder

__all__ = ["Rows", "build_rows", "candidates_of", "embed_texts", "history_weights", "profile_of"]

log = logging.getLogger(__name__)

#: A history in click order weighs its items by recency: the weight halves every this many
#: items back from the latest click. Histories in another order weigh every item alike.
HISTORY_HALF_LIFE = 20.0


# --- Embeddings --------------------------------------------------------------------------------


def embed_texts(texts: Sequence[str], embedder: Embedder) -> tuple[np.ndarray, bool]:
    """Vectors for ``texts``, from the disk cache when this model embedded these exact texts
    before (``TIDINGS_CACHE_DIR``, as for the fast model); True when they came from it."""
    digest = hashlib.sha256(embedder.name.encode("utf-8"))
    for text in texts:
        digest.update(b"\x00" + text.encode("utf-8"))
    path = quantize.cache_dir() / f"mind-vectors-{digest.hexdigest()[:24]}.npy"
    try:
        cached = np.load(path)
        if cached.shape == (len(texts), embedder.dimensions):
            return cached.astype(np.float32, copy=False), True
    except (OSError, ValueError):
        pass
    vectors = embedder.embed(list(texts)) if texts else np.zeros((0, embedder.dimensions))
    vectors = np.asarray(vectors, dtype=np.float32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as tmp:
            np.save(tmp, vectors)
        os.replace(tmp.name, path)  # atomic: a concurrent run sees all or nothing
    except OSError as exc:  # a cache only saves time
        log.info("MIND vectors not cached (%s)", exc)
    return vectors, False


# --- Features ----------------------------------------------------------------------------------


def history_weights(length: int, clicked_order: bool) -> np.ndarray:
    """Recency weights for a history in click order (latest 1.0), else all 1."""
    if not clicked_order:
        return np.ones(length, dtype=np.float32)
    back = np.arange(length - 1, -1, -1, dtype=np.float64)
    return (0.5 ** (back / HISTORY_HALF_LIFE)).astype(np.float32)


def profile_of(
    impression: Impression, vectors: np.ndarray, topics: Sequence[frozenset[str]]
) -> Profile:
    """The reader of one impression as the live feed would see them: their history's vectors
    and recency weights, and the share of their history on each topic key."""
    history = impression.history
    affinity: Counter[str] = Counter()
    for row in history:
        affinity.update(topics[row])
    n = len(history)
    return Profile(
        history=vectors[history] if n else np.zeros((0, vectors.shape[1]), np.float32),
        history_weights=history_weights(n, impression.clicked_order),
        topic_affinity={key: count / n for key, count in affinity.items()} if n else {},
    )


def candidates_of(
    impression: Impression,
    vectors: np.ndarray,
    topics: Sequence[frozenset[str]],
    popularity: Popularity,
) -> Candidates:
    """An impression's candidates as the live feed describes stories: vectors, topic keys,
    popularity; no source or publication time (MIND has neither for the replay)."""
    rows = impression.candidates
    k = len(rows)
    return Candidates(
        ids=[int(r) for r in rows],
        vectors=vectors[rows],
        topics=[topics[r] for r in rows],
        sources=[None] * k,
        age_hours=np.full(k, np.nan),
        clicks=popularity.clicks,
        impressions=popularity.shown,
        outlets=np.ones(k),
        recent_clicks=popularity.recent_clicks,
        recent_impressions=popularity.recent_shown,
    )


@dataclass(slots=True)
class Rows:
    """Feature rows of a list of impressions, consecutive per impression."""

    matrix: np.ndarray
    labels: np.ndarray
    groups: list[int]
    clicks: np.ndarray  # popularity-window clicks per row, as the features saw them
    shown: np.ndarray

    def slices(self) -> list[slice]:
        bounds = np.concatenate([[0], np.cumsum(self.groups)])
        return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def build_rows(
    impressions: Sequence[Impression],
    popularity: Sequence[Popularity],
    vectors: np.ndarray,
    topics: Sequence[frozenset[str]],
) -> Rows:
    """:func:`tidings.rank.features.features` for each impression, stacked."""
    matrices = [
        features(profile_of(i, vectors, topics), candidates_of(i, vectors, topics, p))
        for i, p in zip(impressions, popularity, strict=True)
    ]
    if not matrices:
        empty = np.zeros(0)
        return Rows(np.zeros((0, len(FEATURES)), np.float32), empty, [], empty, empty)
    return Rows(
        matrix=np.vstack(matrices),
        labels=np.concatenate([i.labels for i in impressions]),
        groups=[len(i.candidates) for i in impressions],
        clicks=np.concatenate([p.clicks for p in popularity]),
        shown=np.concatenate([p.shown for p in popularity]),
    )
