"""What the ranker knows about one reader and a list of candidates, as a feature matrix.

Pure: no I/O, no models. The live feed (:mod:`tidings.rank.feed`) and the offline MIND
replay (:mod:`tidings.evaluate.mind`) both build a :class:`Profile` and :class:`Candidates`
and call :func:`features`, so what is measured offline is what readers get.

Topics are compared by *key*, the part of a topic id after its prefix: ``label:north-korea``
(the outlet's tag) and ``entity:north-korea`` (found by understanding) are one topic to a
reader who follows North Korea.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FEATURES",
    "Candidates",
    "Profile",
    "TopicIncidence",
    "features",
    "topic_key",
]

# Column order of the feature matrix. A stored model names the features it was trained
# on, so appending a feature never breaks a saved model (see tidings.rank.scorer).
FEATURES: tuple[str, ...] = (
    "followed",  # the candidate carries a topic or source the reader follows
    "topic_affinity",  # the strongest share of the reader's history on one of its topics
    "topic_affinity_sum",  # all its topics' shares together (capped at 1)
    "source_affinity",  # share of the reader's history from the candidate's source
    "similarity_mean",  # recency-weighted mean cosine to the history
    "similarity_max",  # cosine to the closest history item
    "fewer_like",  # cosine to the closest "fewer like this" item (a negative signal)
    "freshness",  # 1 / (1 + age / FRESHNESS_HOURS); 0 when the time is unknown
    "popularity",  # log(1 + recent clicks by all readers)
    "ctr",  # smoothed click-through: (clicks + a·p0) / (impressions + a)
    "story_size",  # log(1 + outlets telling the story)
    "seen",  # log(1 + times shown to this reader without being opened)
    # Added after the MIND replay (tidings.evaluate.mind); within-list features compare a
    # candidate with the others in the same list, so they mean the same in any list.
    "exposure",  # log(1 + times shown to anyone in the popularity window)
    "ctr_rank",  # percentile of its ctr among the candidates (0 lowest … 1 highest)
    "similarity_rank",  # percentile of its similarity_mean among the candidates
    "similarity_top",  # mean cosine to its three closest history items
    "history_size",  # log(1 + history items): how much the similarities can be trusted
    "typicality",  # mean cosine to the other candidates: the mainstream of the moment
    "recent_popularity",  # log(1 + clicks in the recent window)
    "recent_ctr",  # smoothed click-through in the recent window
    "recent_ctr_rank",  # percentile of its recent_ctr among the candidates
)

# Freshness halves after a day, then keeps falling slowly (1/3 at two days, 1/8 at a week):
# a long tail still orders last month before last year, where a sparse store (an archive,
# a quiet source list) has little else to go on.
FRESHNESS_HOURS = 24.0
CTR_PRIOR = 0.05  # the click-through rate a story is assumed to have before any data
CTR_PRIOR_WEIGHT = 20.0  # how many impressions that assumption is worth
# A recent window holds few impressions, so the assumption is worth fewer there. Chosen by
# cross-validation inside the training part of the MIND replay (2 beat 20).
RECENT_CTR_PRIOR_WEIGHT = 2.0
SIMILARITY_TOP = 3  # history items averaged for similarity_top
_COLUMN = {name: i for i, name in enumerate(FEATURES)}


def topic_key(topic_id: str) -> str:
    """``label:north-korea`` → ``north-korea``: labels, entities and sections of one name meet."""
    return topic_id.split(":", 1)[1] if ":" in topic_id else topic_id


@dataclass(slots=True)
class Profile:
    """One reader as the ranker sees them. Everything is optional: a new reader is empty."""

    # Embeddings of what they read (opened, saved, shared), oldest first, L2-normalised,
    # with a weight per item (interaction strength × recency; need not sum to 1).
    history: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    history_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    topic_affinity: Mapping[str, float] = field(default_factory=dict)  # topic key → 0..1
    source_affinity: Mapping[str, float] = field(default_factory=dict)  # source → 0..1
    followed: frozenset[str] = frozenset()  # topic keys and "source:<name>"
    muted: frozenset[str] = frozenset()
    fewer_like: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    seen: Mapping[int, int] = field(default_factory=dict)  # candidate id → times shown unopened

    @property
    def is_empty(self) -> bool:
        return len(self.history) == 0 and not self.followed and not self.topic_affinity


@dataclass(frozen=True, slots=True)
class TopicIncidence:
    """The candidates' topic keys as two flat arrays of (row, key code) pairs, so the topic
    features are a few array operations rather than a set intersection per candidate (a
    feed scores ~1,000 candidates per request). The live feed keeps one per story pool;
    :func:`features` builds one from ``Candidates.topics`` when none is given."""

    codes: Mapping[str, int]  # topic key → code; may hold keys no candidate has
    rows: np.ndarray  # (pairs,) the candidate row of each pair
    keys: np.ndarray  # (pairs,) the code of its topic key

    @classmethod
    def of(
        cls, topics: Sequence[frozenset[str]], codes: dict[str, int] | None = None
    ) -> TopicIncidence:
        """The incidence of ``topics`` (one set of keys per candidate); new keys are added
        to ``codes`` when it is given."""
        codes = {} if codes is None else codes
        flat = [codes.setdefault(key, len(codes)) for keys in topics for key in keys]
        sizes = np.fromiter((len(keys) for keys in topics), dtype=np.int64, count=len(topics))
        rows = np.repeat(np.arange(len(topics), dtype=np.int64), sizes)
        return cls(codes, rows, np.asarray(flat, dtype=np.int64))


@dataclass(slots=True)
class Candidates:
    """Columns describing k candidates (stories in the feed, articles in MIND)."""

    ids: Sequence[int]
    vectors: np.ndarray  # (k, d), L2-normalised; a zero row when there is no embedding
    topics: Sequence[frozenset[str]]  # topic keys per candidate
    sources: Sequence[str | None]
    age_hours: np.ndarray  # (k,), NaN when the time is unknown
    clicks: np.ndarray  # (k,) clicks by all readers in the popularity window
    impressions: np.ndarray  # (k,) times shown to anyone in that window
    outlets: np.ndarray  # (k,) outlets telling the story (1 for a lone article)
    # Clicks and impressions in a shorter, recent window ("trending now"); None: only the
    # one popularity window is known, and the recent features repeat it.
    recent_clicks: np.ndarray | None = None
    recent_impressions: np.ndarray | None = None
    incidence: TopicIncidence | None = None  # ``topics`` as arrays, when the caller has them

    def __len__(self) -> int:
        return len(self.ids)


def features(profile: Profile, candidates: Candidates) -> np.ndarray:
    """The (k, len(FEATURES)) float32 matrix, columns in :data:`FEATURES` order."""
    k = len(candidates)
    out = np.zeros((k, len(FEATURES)), dtype=np.float32)
    if k == 0:
        return out
    column = _COLUMN
    _topic_columns(profile, candidates, out)
    if profile.source_affinity:
        shares = profile.source_affinity
        out[:, column["source_affinity"]] = [
            shares.get(source, 0.0) if source is not None else 0.0 for source in candidates.sources
        ]

    vectors = candidates.vectors
    has_vectors = vectors.ndim == 2 and vectors.shape[1] > 0
    if len(profile.history) and has_vectors and profile.history.shape[1] == vectors.shape[1]:
        cosines = vectors @ profile.history.T  # (k, n)
        weights = profile.history_weights
        total = float(weights.sum())
        if total > 0:
            out[:, column["similarity_mean"]] = cosines @ weights / total
            out[:, column["similarity_rank"]] = _percentile(out[:, column["similarity_mean"]])
        out[:, column["similarity_max"]] = cosines.max(axis=1)
        top = min(SIMILARITY_TOP, cosines.shape[1])
        closest = np.partition(cosines, cosines.shape[1] - top, axis=1)[:, -top:]
        out[:, column["similarity_top"]] = closest.mean(axis=1)
        out[:, column["history_size"]] = np.log1p(len(profile.history))
    if has_vectors and k > 1:
        # Mean cosine to the *other* candidates, in O(k·d): v·(Σv − v) / (k − 1).
        own = np.einsum("ij,ij->i", vectors, vectors)
        out[:, column["typicality"]] = (vectors @ vectors.sum(axis=0) - own) / (k - 1)
    if len(profile.fewer_like) and candidates.vectors.size:
        out[:, column["fewer_like"]] = (candidates.vectors @ profile.fewer_like.T).max(axis=1)

    age = np.asarray(candidates.age_hours, dtype=np.float64)
    known = ~np.isnan(age)
    out[known, column["freshness"]] = 1.0 / (1.0 + np.clip(age[known], 0, None) / FRESHNESS_HOURS)
    clicks = np.asarray(candidates.clicks, dtype=np.float64)
    shown = np.asarray(candidates.impressions, dtype=np.float64)
    out[:, column["popularity"]] = np.log1p(clicks)
    out[:, column["ctr"]] = (clicks + CTR_PRIOR * CTR_PRIOR_WEIGHT) / (shown + CTR_PRIOR_WEIGHT)
    out[:, column["exposure"]] = np.log1p(shown)
    out[:, column["ctr_rank"]] = _percentile(out[:, column["ctr"]])
    recent_clicks = clicks if candidates.recent_clicks is None else candidates.recent_clicks
    recent_shown = shown if candidates.recent_impressions is None else candidates.recent_impressions
    recent_clicks = np.asarray(recent_clicks, dtype=np.float64)
    recent_shown = np.asarray(recent_shown, dtype=np.float64)
    out[:, column["recent_popularity"]] = np.log1p(recent_clicks)
    out[:, column["recent_ctr"]] = (recent_clicks + CTR_PRIOR * RECENT_CTR_PRIOR_WEIGHT) / (
        recent_shown + RECENT_CTR_PRIOR_WEIGHT
    )
    out[:, column["recent_ctr_rank"]] = _percentile(out[:, column["recent_ctr"]])
    out[:, column["story_size"]] = np.log1p(np.asarray(candidates.outlets, dtype=np.float64))
    if profile.seen:
        seen = np.array([profile.seen.get(i, 0) for i in candidates.ids], dtype=np.float64)
        out[:, column["seen"]] = np.log1p(seen)
    return out


def _topic_columns(profile: Profile, candidates: Candidates, out: np.ndarray) -> None:
    """followed, topic_affinity and topic_affinity_sum, from the (row, key) pairs: each
    profile key gets a value per code, and rows gather theirs with one max and one sum."""
    followed, affinity = profile.followed, profile.topic_affinity
    if not (followed or affinity):
        return
    k = len(out)
    incidence = candidates.incidence or TopicIncidence.of(candidates.topics)
    codes, rows, keys = incidence.codes, incidence.rows, incidence.keys
    known = len(codes)  # the code book may grow meanwhile (the feed's is shared)

    def per_code(values: Iterable[tuple[str, float]]) -> np.ndarray:
        table = np.zeros(known + 1, dtype=np.float64)  # the last slot: keys not in the book
        for key, value in values:
            code = codes.get(key)
            if code is not None and code < known:
                table[code] = value
        return table[np.minimum(keys, known)]

    if followed:
        hit = np.zeros(k, dtype=bool)
        hit[rows[per_code((key, 1.0) for key in followed) > 0]] = True
        sources = {f[len("source:") :] for f in followed if f.startswith("source:")}
        if sources:
            hit |= np.fromiter((s in sources for s in candidates.sources), dtype=bool, count=k)
        out[:, _COLUMN["followed"]] = hit
    if affinity:
        shares = per_code(affinity.items())
        top = np.zeros(k, dtype=np.float64)
        np.maximum.at(top, rows, shares)
        out[:, _COLUMN["topic_affinity"]] = top
        total = np.bincount(rows, weights=shares, minlength=k)
        out[:, _COLUMN["topic_affinity_sum"]] = np.minimum(1.0, total)


def _percentile(values: np.ndarray) -> np.ndarray:
    """Each value's rank among ``values`` from 0 (lowest) to 1 (highest); ties share their
    mean rank, and a lone value (or all equal) is 0.5."""
    k = len(values)
    if k < 2:
        return np.full(k, 0.5)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts) - 1  # 0-based rank of the last member of each tie group
    mean_rank = upper - (counts - 1) / 2
    return mean_rank[inverse] / (k - 1)
