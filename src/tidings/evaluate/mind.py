"""Offline evaluation of the ranker on MIND click logs: does it put what readers clicked first?

A MIND folder holds ``behaviors.tsv`` (one impression a row: the reader's history and the
candidates shown, each marked clicked ``-1`` or not ``-0``) and ``news.tsv`` (the articles),
and may hold ``impression_meta.tsv`` (which candidate lists are complete, and whether a
history is in click order). Each impression is replayed the way the live feed ranks: the
reader's history becomes a :class:`~tidings.rank.features.Profile`, the candidates become
:class:`~tidings.rank.features.Candidates` (MIND category, subcategory and title entities as
topic keys; clicks and impressions counted from the *training* impressions as popularity),
:func:`~tidings.rank.features.features` makes the matrix and a scorer learned with
:func:`tidings.rank.scorer.fit` ranks it. Baselines are scored in the same run on the same
impressions: ``random`` (seeded), ``popularity`` (training clicks), ``content`` (embedding
similarity to the history), and, beside them, ``ctr`` (smoothed training click-through)
and ``prior`` (the hand-set cold-start weights).

Metrics follow MIND's own evaluation script, averaged over impressions: AUC, MRR, nDCG@5
and nDCG@10. Only complete candidate lists are scored (``impression_meta.tsv`` marks the
subsampled ones); impressions with only clicks or only non-clicks are skipped.

Splits, with no leakage from what is scored into what is learned:

* ``train_dir`` given: the scorer and the popularity counts learn from that log only, and
  every usable impression of ``test_dir`` is scored (MIND's train/dev convention).
* one log with times: the earliest impressions train, the latest are scored, and popularity
  counts only impressions before each one (as a live feed would know them).
* one log without times (the shared MIND sample): a seeded split by a hash of the impression
  id, a fifth held out; the report says so.

Popularity has two windows, as the live feed may: the whole training log, and a recent one.
Without times, "recent" weighs each training impression by how much its candidate list
overlaps the scored one's — lists are drawn from the stories on offer at the moment, so
alike lists were shown at about the same time. Training rows never see their own click:
their counts come from the other folds of the training impressions (rescaled to the size
of the whole), while scored rows count all of it. Settings (features, scorer parameters,
the overlap power) were chosen by cross-validation inside the training part of seed 0.

MIND is under the Microsoft Research License Terms (non-commercial research): it is read from
where it lies for measurement, and the scorer learned here is thrown away, never shipped.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from tidings.errors import FetchError, InputError, ParseError
from tidings.ingest import mind as mind_news
from tidings.ingest.identity import slug
from tidings.ingest.pipeline import read
from tidings.rank.features import FEATURES, Candidates, Profile, features
from tidings.rank.scorer import PRIOR, Kind, Scorer, fit
from tidings.understand import quantize
from tidings.understand.embeddings import Embedder, article_text, default_embedder

__all__ = [
    "BASELINES",
    "METHODS",
    "METRICS",
    "Impression",
    "MethodScores",
    "MindLog",
    "MindReport",
    "NewsTable",
    "Popularity",
    "auc",
    "bucket",
    "dcg",
    "embed_texts",
    "evaluate_mind",
    "format_table",
    "hashed_popularity",
    "impression_metrics",
    "mrr",
    "ndcg",
    "read_behaviors",
    "read_log",
    "read_news",
    "rich_table",
    "split_log",
    "timed_popularity",
    "write_chart",
    "write_report",
]

log = logging.getLogger(__name__)

#: Every method the report scores: the learned ranker first, then the baselines.
METHODS: tuple[str, ...] = ("tidings", "prior", "ctr", "popularity", "content", "random")
#: The baselines the ranker has to beat.
BASELINES: tuple[str, ...] = ("popularity", "content", "random")
METRICS: tuple[str, ...] = ("auc", "mrr", "ndcg5", "ndcg10")
METRIC_LABELS = {"auc": "AUC", "mrr": "MRR", "ndcg5": "nDCG@5", "ndcg10": "nDCG@10"}

#: Share of impressions scored when one log without times is split by a hash of their id.
TEST_FRACTION = 0.2
#: Folds of the training impressions for out-of-fold popularity of training rows.
POPULARITY_FOLDS = 5
#: A history in click order weighs its items by recency: the weight halves every this many
#: items back from the latest click. Histories in another order weigh every item alike.
HISTORY_HALF_LIFE = 20.0
#: The recent window without times: training impressions weigh by the Jaccard overlap of
#: their candidate list with the scored one, to this power. Chosen on the training part of
#: the shared log (one-feature AUC of the recent ctr: power 2 .674, 1 .674, ½ .666; plain
#: overlap counts .652; the whole-log ctr .659).
RECENT_OVERLAP_POWER = 2.0
#: The recent window when impressions have times (not tuned: the shared log has none).
RECENT_HOURS = 3.0
#: Title entities below this confidence are not used as topic keys.
MIN_ENTITY_CONFIDENCE = 0.5
#: MIND's time format, e.g. ``11/15/2019 10:22:32 AM``.
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
MAX_WARNINGS_PER_FILE = 50

BEHAVIORS = "behaviors.tsv"
NEWS = "news.tsv"
META = "impression_meta.tsv"

Progress = Callable[[str], None]


# --- MIND's metrics ----------------------------------------------------------------------------


def dcg(labels: np.ndarray, scores: np.ndarray, k: int = 10) -> float:
    """MIND's ``dcg_score``: gains ``2^rel − 1`` of the top ``k``, discounted by log2(rank+1)."""
    order = np.argsort(scores)[::-1]
    gains = 2.0 ** np.take(labels, order[:k]) - 1
    discounts = np.log2(np.arange(len(gains)) + 2)
    return float(np.sum(gains / discounts))


def ndcg(labels: np.ndarray, scores: np.ndarray, k: int = 10) -> float:
    """MIND's ``ndcg_score``: the DCG of ``scores`` over the DCG of the ideal order."""
    labels = np.asarray(labels, dtype=np.float64)
    return dcg(labels, scores, k) / dcg(labels, labels, k)


def mrr(labels: np.ndarray, scores: np.ndarray) -> float:
    """MIND's ``mrr_score``: the sum of 1/rank over clicked candidates, over the clicks."""
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(scores)[::-1]
    ranked = np.take(labels, order)
    return float(np.sum(ranked / (np.arange(len(ranked)) + 1)) / np.sum(labels))


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of one impression (scikit-learn's, ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def impression_metrics(labels: np.ndarray, scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """AUC, MRR, nDCG@5 and nDCG@10 of one impression.

    Among equal ``scores`` the rank metrics put the higher ``tiebreak`` first (the replay
    passes seeded random numbers), so ties never inherit the order the log lists candidates
    in; AUC counts a tie as half a correct pair.
    """
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[np.lexsort((tiebreak, scores))] = np.arange(len(scores))
    return np.array(
        [auc(labels, scores), mrr(labels, ranks), ndcg(labels, ranks, 5), ndcg(labels, ranks, 10)]
    )


# --- Reading a MIND folder ---------------------------------------------------------------------


@dataclass(slots=True)
class NewsTable:
    """The articles of one or more news files, by row index."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    topics: list[frozenset[str]] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def add(self, news_id: str, text: str, topics: frozenset[str]) -> None:
        if news_id in self.index:
            return  # the same id in a second file: the first one stands
        self.index[news_id] = len(self.ids)
        self.ids.append(news_id)
        self.texts.append(text)
        self.topics.append(topics)


@dataclass(frozen=True, slots=True)
class Impression:
    """One logged impression, with news ids resolved to rows of the :class:`NewsTable`."""

    id: str
    user: str
    time: datetime | None
    history: np.ndarray  # news rows, oldest first
    candidates: np.ndarray  # news rows
    labels: np.ndarray  # 1 clicked, 0 not, per candidate
    full: bool = True  # the complete candidate list (not subsampled)
    clicked_order: bool = True  # the history is in the order it was clicked
    line: int = 0

    @property
    def usable(self) -> bool:
        """Both clicked and unclicked candidates: something to rank."""
        return 0 < int(self.labels.sum()) < len(self.labels)


@dataclass(slots=True)
class MindLog:
    """The impressions of one MIND folder and what was stepped over reading it."""

    folder: Path
    impressions: list[Impression]
    warnings: list[str] = field(default_factory=list)
    rows_skipped: int = 0  # malformed behaviors rows
    dropped_candidates: int = 0  # candidate ids not in news.tsv
    dropped_history: int = 0  # history ids not in news.tsv
    has_meta: bool = False


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(str(path), f"no such {what}")
    if what == "file" and not path.is_file():
        raise InputError(str(path), "is a folder, not a file")
    if what == "folder" and not path.is_dir():
        raise InputError(str(path), "is a file, not a MIND folder")


def _entity_keys(raw: str) -> set[str]:
    """Topic keys from the title-entities column of a raw news row (empty when unreadable)."""
    columns = raw.split("\t")
    if len(columns) < 7 or not columns[6].strip():
        return set()
    try:
        entities = json.loads(columns[6])
    except ValueError:
        return set()
    keys: set[str] = set()
    if isinstance(entities, list):
        for entity in entities:
            if not isinstance(entity, dict) or not isinstance(entity.get("Label"), str):
                continue
            confidence = entity.get("Confidence", 1.0)
            if isinstance(confidence, int | float) and confidence < MIN_ENTITY_CONFIDENCE:
                continue
            keys.add(slug(entity["Label"]))
    return keys


def read_news(path: Path, table: NewsTable, warnings: list[str]) -> None:
    """Add the articles of a MIND ``news.tsv`` to ``table``, through tidings' own MIND parser."""
    _require(path, "file")
    try:
        parsed = mind_news.parse(read(str(path)))
    except (FetchError, ParseError) as exc:
        raise InputError(str(path), str(exc)) from exc
    _extend(warnings, path, parsed.warnings)
    for article in parsed.articles:
        if not article.external_id:
            continue
        keys = {label for label in article.labels if label}
        keys |= _entity_keys(article.raw)
        table.add(
            article.external_id, article_text(article.title, article.paragraphs), frozenset(keys)
        )


def _extend(warnings: list[str], path: Path, found: Sequence[str]) -> None:
    for warning in found[:MAX_WARNINGS_PER_FILE]:
        warnings.append(f"{path}: {warning}")
    if len(found) > MAX_WARNINGS_PER_FILE:
        warnings.append(f"{path}: … and {len(found) - MAX_WARNINGS_PER_FILE} more like these")


def _read_meta(path: Path, warnings: list[str]) -> dict[str, tuple[bool, bool]]:
    """impression id → (full candidate list, history in click order)."""
    meta: dict[str, tuple[bool, bool]] = {}
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"{path}: not read ({exc}); every candidate list is taken as full")
        return meta
    if not lines:
        return meta
    header = lines[0].split("\t")
    if "impression_id" not in header:
        warnings.append(f"{path}: no impression_id column; not used")
        return meta
    position = {name: i for i, name in enumerate(header)}
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) != len(header):
            problems.append(f"line {number}: expected {len(header)} columns, found {len(columns)}")
            continue
        candidate_list = columns[position["candidate_list"]] if "candidate_list" in position else ""
        order = columns[position["history_order"]] if "history_order" in position else ""
        meta[columns[position["impression_id"]]] = (
            not candidate_list.startswith("subsampled"),
            not order or order.startswith("clicked"),
        )
    _extend(warnings, path, problems)
    return meta


def _parse_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT)
    except ValueError:
        return datetime.fromisoformat(value)  # ValueError when neither


def _candidate(token: str) -> tuple[str, int]:
    news_id, dash, label = token.rpartition("-")
    if not dash or not news_id or label not in ("0", "1"):
        raise ValueError(f"bad candidate {token!r} (expected a news id, '-', then 0 or 1)")
    return news_id, int(label)


def read_behaviors(
    path: Path,
    table: NewsTable,
    meta: dict[str, tuple[bool, bool]],
    warnings: list[str],
    *,
    limit: int | None = None,
) -> MindLog:
    """The impressions of a ``behaviors.tsv``; malformed rows are skipped with a warning
    naming their line, ids missing from the news are dropped and counted."""
    _require(path, "file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    problems: list[str] = []
    impressions: list[Impression] = []
    seen: set[str] = set()
    skipped = dropped_candidates = dropped_history = 0
    first_unknown: str | None = None
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        if limit is not None and len(impressions) >= limit:
            break
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8").rstrip("\r")
            columns = line.split("\t")
            if len(columns) != 5:
                raise ValueError(f"expected 5 tab-separated columns, found {len(columns)}")
            impression_id, user, when, history_ids, shown = (c.strip() for c in columns)
            if not impression_id:
                raise ValueError("no impression id in the first column")
            if impression_id in seen:
                raise ValueError(f"impression {impression_id} appears twice; the first is kept")
            pairs = [_candidate(token) for token in shown.split()]
            if not pairs:
                raise ValueError("no candidates")
            try:
                moment = _parse_time(when)
            except ValueError as exc:
                raise ValueError(f"unreadable time {when!r}") from exc
        except UnicodeDecodeError as exc:
            problems.append(f"line {number}: not UTF-8 text (byte {exc.start})")
            skipped += 1
            continue
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            skipped += 1
            continue
        known = [(table.index[n], label) for n, label in pairs if n in table.index]
        if not known:
            problems.append(f"line {number}: none of its candidates is in news.tsv")
            skipped += 1
            continue
        history = [table.index[n] for n in history_ids.split() if n in table.index]
        unknown = len(pairs) - len(known)
        missing_history = len(history_ids.split()) - len(history)
        if (unknown or missing_history) and first_unknown is None:
            first_unknown = f"line {number}"
        dropped_candidates += unknown
        dropped_history += missing_history
        seen.add(impression_id)
        full, clicked_order = meta.get(impression_id, (True, True))
        impressions.append(
            Impression(
                id=impression_id,
                user=user,
                time=moment,
                history=np.array(history, dtype=np.int64),
                candidates=np.array([n for n, _ in known], dtype=np.int64),
                labels=np.array([label for _, label in known], dtype=np.int8),
                full=full,
                clicked_order=clicked_order,
                line=number,
            )
        )
    _extend(warnings, path, problems)
    if dropped_candidates or dropped_history:
        warnings.append(
            f"{path}: dropped {dropped_candidates} candidate and {dropped_history} history ids "
            f"not in news.tsv (first on {first_unknown})"
        )
    return MindLog(
        folder=path.parent,
        impressions=impressions,
        rows_skipped=skipped,
        dropped_candidates=dropped_candidates,
        dropped_history=dropped_history,
        has_meta=bool(meta),
    )


def read_log(
    folder: Path, table: NewsTable | None = None, *, limit: int | None = None
) -> tuple[MindLog, NewsTable]:
    """Read a MIND folder: its news into ``table`` (a new one by default), then its
    impressions. Raises :class:`InputError` when the folder or a required file is missing."""
    folder = Path(folder)
    _require(folder, "folder")
    table = table if table is not None else NewsTable()
    warnings: list[str] = []
    read_news(folder / NEWS, table, warnings)
    meta_path = folder / META
    meta = _read_meta(meta_path, warnings) if meta_path.is_file() else {}
    mind_log = read_behaviors(folder / BEHAVIORS, table, meta, warnings, limit=limit)
    mind_log.warnings = warnings
    return mind_log, table


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


# --- Popularity --------------------------------------------------------------------------------


def bucket(seed: int, purpose: str, impression_id: str) -> float:
    """A fixed pseudo-random number in [0, 1) per impression, seed and purpose."""
    digest = hashlib.sha1(f"{seed}:{purpose}:{impression_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(slots=True)
class Popularity:
    """What the ranker is told about one impression's candidates: clicks and impressions in
    the popularity window, and in the recent window (aligned with its candidates)."""

    clicks: np.ndarray
    shown: np.ndarray
    recent_clicks: np.ndarray
    recent_shown: np.ndarray

    def scaled(self, factor: float) -> Popularity:
        return Popularity(
            self.clicks * factor,
            self.shown * factor,
            self.recent_clicks * factor,
            self.recent_shown * factor,
        )


class _Log:
    """Impressions as sparse matrices over news rows: shown (counts) and clicked."""

    def __init__(self, impressions: Sequence[Impression], size: int) -> None:
        from scipy import sparse

        rows = np.repeat(np.arange(len(impressions)), [len(i.candidates) for i in impressions])
        columns = (
            np.concatenate([i.candidates for i in impressions])
            if impressions
            else np.zeros(0, np.int64)
        )
        labels = (
            np.concatenate([i.labels for i in impressions]).astype(np.float64)
            if impressions
            else np.zeros(0)
        )
        shape = (len(impressions), size)
        self.shown = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=shape)
        self.clicked = sparse.csr_matrix((labels, (rows, columns)), shape=shape)
        self.present = (self.shown > 0).astype(np.float64).tocsr()  # each story once
        self.lengths = np.asarray(self.present.sum(axis=1)).ravel()
        self.total_clicks = np.asarray(self.clicked.sum(axis=0)).ravel()
        self.total_shown = np.asarray(self.shown.sum(axis=0)).ravel()


def _overlap_counts(
    source: _Log, targets: Sequence[Impression], size: int, chunk: int = 128
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Recent-window counts without times: every source impression's clicks and showings,
    weighted by how alike its candidate list is to the target's (Jaccard ** power).

    Lists are built from the stories on offer at the moment, so impressions sharing most of
    their candidates were shown at about the same time: weighting by overlap stands in for
    the time window a live feed would use. Labels of the targets are never read.
    """
    out: list[tuple[np.ndarray, np.ndarray]] = []
    if not targets:
        return out
    target = _Log(targets, size)
    shown_t = source.shown.T.tocsr()  # (news, sources)
    clicked_t = source.clicked.T.tocsr()
    for start in range(0, len(targets), chunk):
        part = slice(start, min(start + chunk, len(targets)))
        overlap = (target.present[part] @ source.present.T).toarray()  # (chunk, sources)
        union = target.lengths[part, None] + source.lengths[None, :] - overlap
        weights = (overlap / np.maximum(union, 1.0)) ** RECENT_OVERLAP_POWER
        clicks = np.asarray(clicked_t @ weights.T)  # (news, chunk)
        shown = np.asarray(shown_t @ weights.T)
        for column, impression in enumerate(targets[part]):
            rows = impression.candidates
            out.append((clicks[rows, column], shown[rows, column]))
    return out


def hashed_popularity(
    train: Sequence[Impression],
    training: Sequence[Impression],
    scored: Sequence[Impression],
    size: int,
    *,
    seed: int,
    folds: int = POPULARITY_FOLDS,
) -> tuple[list[Popularity], list[Popularity]]:
    """Popularity without times, for training rows and scored rows.

    Scored rows count every training impression. A training row never sees its own click:
    the training impressions are cut into ``folds`` folds, and a row counts only the other
    folds, scaled up by ``folds / (folds − 1)`` to the size a scored row sees.
    """
    whole = _Log(train, size)
    recent = _overlap_counts(whole, scored, size)
    scored_counts = [
        Popularity(whole.total_clicks[i.candidates], whole.total_shown[i.candidates], rc, rs)
        for i, (rc, rs) in zip(scored, recent, strict=True)
    ]
    fold_of = {id(i): int(bucket(seed, "popularity-fold", i.id) * folds) for i in train}
    by_row: dict[int, Popularity] = {}
    scale = folds / (folds - 1)
    for fold in range(folds):
        others = _Log([i for i in train if fold_of[id(i)] != fold], size)
        members = [i for i in training if fold_of[id(i)] == fold]
        for impression, (rc, rs) in zip(
            members, _overlap_counts(others, members, size), strict=True
        ):
            rows = impression.candidates
            counts = Popularity(others.total_clicks[rows], others.total_shown[rows], rc, rs)
            by_row[id(impression)] = counts.scaled(scale)
    return [by_row[id(i)] for i in training], scored_counts


def timed_popularity(
    impressions: Sequence[Impression], size: int, *, recent_hours: float = RECENT_HOURS
) -> dict[int, Popularity]:
    """Popularity from the impressions strictly before each one in time (all of them, and
    those of the last ``recent_hours``), keyed by ``id(impression)``."""
    ordered = sorted(impressions, key=lambda i: (i.time, i.line))
    clicks, shown = np.zeros(size), np.zeros(size)
    recent_clicks, recent_shown = np.zeros(size), np.zeros(size)
    window: deque[Impression] = deque()  # counted in the recent window, oldest first
    pending: list[Impression] = []  # at the current moment: not yet visible to each other
    out: dict[int, Popularity] = {}
    moment: datetime | None = None

    def count(impression: Impression, sign: float, to_clicks: np.ndarray, to_shown: np.ndarray):
        np.add.at(to_clicks, impression.candidates, sign * impression.labels)
        np.add.at(to_shown, impression.candidates, sign)

    for impression in ordered:
        assert impression.time is not None
        if impression.time != moment:
            for earlier in pending:
                count(earlier, 1.0, clicks, shown)
                count(earlier, 1.0, recent_clicks, recent_shown)
                window.append(earlier)
            pending = []
            moment = impression.time
            while (
                window
                and window[0].time is not None
                and ((moment - window[0].time).total_seconds() > recent_hours * 3600)
            ):
                count(window.popleft(), -1.0, recent_clicks, recent_shown)
        rows = impression.candidates
        out[id(impression)] = Popularity(
            clicks[rows].copy(),
            shown[rows].copy(),
            np.maximum(recent_clicks[rows], 0.0),
            np.maximum(recent_shown[rows], 0.0),
        )
        pending.append(impression)
    return out


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


# --- The report --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MethodScores:
    """One method's metrics, averaged over the impressions it scored."""

    auc: float
    mrr: float
    ndcg5: float
    ndcg10: float
    impressions: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "auc": round(self.auc, 4),
            "mrr": round(self.mrr, 4),
            "ndcg5": round(self.ndcg5, 4),
            "ndcg10": round(self.ndcg10, 4),
            "impressions": self.impressions,
        }

    def metric(self, name: str) -> float:
        return float(getattr(self, name))


@dataclass(slots=True)
class MindReport:
    """Every method's metrics on the same scored impressions, and how they were obtained."""

    methods: dict[str, MethodScores]
    split: str  # "train-dir", "time" or "hash"
    test_dir: str
    train_dir: str | None
    seed: int
    kind: str
    counts: dict[str, int]
    standard_errors: dict[str, dict[str, float]]
    versus: dict[str, dict[str, float]]  # baseline → paired AUC gain of tidings and its SE
    importance: dict[str, float]  # mean |contribution| of each feature over scored rows
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "methods": {name: scores.to_dict() for name, scores in self.methods.items()},
            "split": self.split,
            "test_dir": self.test_dir,
            "train_dir": self.train_dir,
            "seed": self.seed,
            "kind": self.kind,
            "counts": dict(self.counts),
            "standard_errors": {
                m: {k: round(v, 4) for k, v in errors.items()}
                for m, errors in self.standard_errors.items()
            },
            "versus": {
                m: {k: round(v, 4) for k, v in diff.items()} for m, diff in self.versus.items()
            },
            "feature_importance": {k: round(v, 4) for k, v in self.importance.items()},
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A few lines for humans: the table, then the notes."""
        return "\n".join([format_table(self), *self.notes])


# --- Evaluation --------------------------------------------------------------------------------


def split_log(
    impressions: list[Impression], seed: int, test_fraction: float = TEST_FRACTION
) -> tuple[list[Impression], list[Impression], str]:
    """(train, held out, how): by time when every impression has one (the latest
    ``test_fraction`` held out, ``"time"``), else by a seeded hash of impression ids
    (``"hash"``)."""
    if impressions and all(i.time is not None for i in impressions):
        ordered = sorted(impressions, key=lambda i: (i.time, i.line))
        cut = max(1, round(len(ordered) * (1 - test_fraction)))
        return ordered[:cut], ordered[cut:], "time"
    test = [i for i in impressions if bucket(seed, "test", i.id) < test_fraction]
    train = [i for i in impressions if bucket(seed, "test", i.id) >= test_fraction]
    return train, test, "hash"


def evaluate_mind(
    test_dir: Path | str,
    *,
    train_dir: Path | str | None = None,
    seed: int = 0,
    kind: Kind = "lightgbm",
    progress: Progress | None = None,
    limit: int | None = None,
    test_fraction: float = TEST_FRACTION,
    embedder: Embedder | None = None,
) -> MindReport:
    """Replay the impressions of a MIND folder and score the ranker against baselines.

    ``train_dir``: learn from that folder's log and score every usable impression of
    ``test_dir``; without it, ``test_dir``'s own log is split (by time when every
    impression has one, else by a seeded hash of impression ids, ``test_fraction`` scored).
    ``kind``: the learned scorer (``lightgbm`` or ``logistic``). ``limit``: read at most
    this many impressions from each ``behaviors.tsv`` (a quick run). ``progress`` is told
    each stage as it starts. Raises :class:`~tidings.errors.InputError` for a missing
    folder or file, or a log with nothing to train on or score.
    """
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, not {test_fraction}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")

    say("reading the logs")
    table = NewsTable()
    test_log, _ = read_log(Path(test_dir), table, limit=limit)
    train_log = read_log(Path(train_dir), table, limit=limit)[0] if train_dir else None
    warnings = [*test_log.warnings, *(train_log.warnings if train_log else [])]
    notes: list[str] = []

    if train_log is not None:
        train, test, split = train_log.impressions, test_log.impressions, "train-dir"
        notes.append(
            f"trained on {train_dir} ({len(train)} impressions) and scored {test_dir}; "
            "popularity counted from the training log only"
        )
    else:
        train, test, split = split_log(test_log.impressions, seed, test_fraction)
        if split == "time":
            notes.append(
                f"split by time: the earliest {len(train)} impressions train, the latest "
                f"{len(test)} are scored; popularity counts only impressions before each one"
                f" (recent window: the last {RECENT_HOURS:g} hours)"
            )
        else:
            notes.append(
                "the log has no times, so it is split by a seeded hash of impression ids "
                f"(seed {seed}): {len(train)} impressions train, {len(test)} "
                f"({test_fraction:.0%}) are held out and scored; popularity is counted from "
                "the training impressions only"
            )

    if not test_log.has_meta:
        notes.append(f"no {META} in {test_dir}: every candidate list is taken as complete")
    scored = [i for i in test if i.full and i.usable]
    training = [i for i in train if i.usable]
    subsampled = sum(1 for i in test if not i.full)
    single_label = sum(1 for i in test if i.full and not i.usable)
    if subsampled:
        notes.append(
            f"{subsampled} held-out impressions with subsampled candidate lists are not scored "
            "(metrics use complete lists only); subsampled impressions still train"
        )
    if single_label:
        notes.append(f"{single_label} impressions with only clicks or only non-clicks skipped")
    if not scored:
        raise InputError(str(test_dir), "no impression to score (a full list, clicked and not)")
    if not training:
        raise InputError(str(train_dir or test_dir), "no impression to train on")

    # The news the logs mention are embedded (not only the split's: the same texts, so the
    # cached vectors serve every seed and split of these logs).
    read_in = [*test_log.impressions, *(train_log.impressions if train_log else [])]
    used = np.unique(np.concatenate([a for i in read_in for a in (i.history, i.candidates)]))
    say(f"embedding {len(used)} articles")
    embedding_started = time.perf_counter()
    embedder = embedder or default_embedder()
    used_vectors, from_cache = embed_texts([table.texts[r] for r in used], embedder)
    vectors = np.zeros((len(table.ids), embedder.dimensions), dtype=np.float32)
    vectors[used] = used_vectors
    embedding_seconds = time.perf_counter() - embedding_started

    say("counting popularity and building features")
    size = len(table.ids)
    if split == "time":
        timed = timed_popularity([*train, *test], size)  # every impression counts
        train_popularity = [timed[id(i)] for i in training]
        test_popularity = [timed[id(i)] for i in scored]
    else:
        train_popularity, test_popularity = hashed_popularity(
            train, training, scored, size, seed=seed
        )
        notes.append(
            "training rows' popularity is out-of-fold "
            f"({POPULARITY_FOLDS} folds, rescaled) so no row sees its own click; the recent "
            "window, lacking times, weighs each training impression by the overlap of its "
            f"candidate list with the scored one (Jaccard^{RECENT_OVERLAP_POWER:g})"
        )
    train_rows = build_rows(training, train_popularity, vectors, table.topics)
    test_rows = build_rows(scored, test_popularity, vectors, table.topics)

    say(f"training the {kind} scorer on {len(training)} impressions")
    training_started = time.perf_counter()
    scorer = fit(train_rows.matrix, train_rows.labels, train_rows.groups, kind=kind, seed=seed)
    training_seconds = time.perf_counter() - training_started
    notes.append(
        f"{kind} scorer over {len(FEATURES)} features, trained on {len(train_rows.labels)} "
        f"rows in {training_seconds:.1f} s"
    )
    if from_cache:
        notes.append("article vectors came from the cache (same texts, same model)")

    say(f"scoring {len(scored)} impressions")
    per_impression = _score(scorer, test_rows, seed)
    methods = {
        name: MethodScores(*(float(v) for v in values.mean(axis=0)), impressions=len(values))
        for name, values in per_impression.items()
    }
    contributions = np.abs(scorer.contributions(test_rows.matrix)).mean(axis=0)
    importance = sorted(zip(FEATURES, contributions.tolist(), strict=True), key=lambda f: -f[1])
    counts = {
        "impressions_read": len(test_log.impressions)
        + (len(train_log.impressions) if train_log else 0),
        "training_impressions": len(training),
        "training_rows": len(train_rows.labels),
        "held_out_impressions": len(test),
        "scored_impressions": len(scored),
        "scored_candidates": len(test_rows.labels),
        "scored_clicks": int(test_rows.labels.sum()),
        "subsampled_not_scored": subsampled,
        "single_label_not_scored": single_label,
        "rows_skipped": sum(log.rows_skipped for log in (test_log, train_log) if log),
        "dropped_candidate_ids": sum(
            log.dropped_candidates for log in (test_log, train_log) if log
        ),
        "dropped_history_ids": sum(log.dropped_history for log in (test_log, train_log) if log),
        "articles_embedded": len(used),
    }
    return MindReport(
        methods=methods,
        split=split,
        test_dir=str(test_dir),
        train_dir=None if train_dir is None else str(train_dir),
        seed=seed,
        kind=kind,
        counts=counts,
        standard_errors=_standard_errors(per_impression),
        versus=_versus(per_impression),
        importance=dict(importance),
        seconds={
            "embedding": embedding_seconds,
            "training": training_seconds,
            "total": time.perf_counter() - started,
        },
        notes=notes,
        warnings=warnings,
    )


def _score(scorer: Scorer, rows: Rows, seed: int) -> dict[str, np.ndarray]:
    """Per-impression metrics (impressions × METRICS) of every method, on the same rows."""
    scores = {
        "tidings": scorer.score(rows.matrix),
        "prior": PRIOR.score(rows.matrix),
        "popularity": rows.clicks,
        "ctr": rows.matrix[:, FEATURES.index("ctr")],
        "content": rows.matrix[:, FEATURES.index("similarity_mean")],
        "random": np.random.default_rng([seed, 1]).random(len(rows.labels)),
    }
    ties = np.random.default_rng([seed, 2]).random(len(rows.labels))
    slices = rows.slices()
    out = {name: np.zeros((len(slices), len(METRICS))) for name in METHODS}
    for n, part in enumerate(slices):
        labels = rows.labels[part]
        for name in METHODS:
            out[name][n] = impression_metrics(labels, np.asarray(scores[name][part]), ties[part])
    return out


def _standard_errors(per_impression: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Standard error of each mean metric over impressions."""
    out: dict[str, dict[str, float]] = {}
    for name, values in per_impression.items():
        n = len(values)
        errors = values.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(len(METRICS))
        out[name] = dict(zip(METRICS, errors.tolist(), strict=True))
    return out


def _versus(per_impression: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """For each baseline, the mean per-impression AUC gain of tidings and its standard error
    (paired: the same impressions)."""
    out: dict[str, dict[str, float]] = {}
    learned = per_impression["tidings"][:, 0]
    for name in METHODS:
        if name == "tidings":
            continue
        gain = learned - per_impression[name][:, 0]
        se = float(gain.std(ddof=1) / math.sqrt(len(gain))) if len(gain) > 1 else 0.0
        out[name] = {"auc_gain": float(gain.mean()), "auc_gain_se": se}
    return out


# --- Output ------------------------------------------------------------------------------------


def write_report(report: MindReport, json_path: Path | str) -> Path:
    """The report as JSON (``methods`` keyed by method, then how it was measured)."""
    path = Path(json_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def write_chart(report: MindReport, png_path: Path | str) -> Path:
    """A grouped bar chart: AUC, MRR, nDCG@5 and nDCG@10 for each method."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    path = Path(png_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(report.methods)
    figure = Figure(figsize=(9, 4.8), dpi=120)
    axes = figure.add_subplot()
    width = 0.8 / len(METRICS)
    x = np.arange(len(names))
    for j, metric in enumerate(METRICS):
        values = [report.methods[name].metric(metric) for name in names]
        bars = axes.bar(
            x + (j - (len(METRICS) - 1) / 2) * width, values, width, label=METRIC_LABELS[metric]
        )
        axes.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    axes.set_xticks(x, names)
    axes.set_ylim(0, 1)
    axes.set_ylabel("mean over impressions")
    scored = next(iter(report.methods.values())).impressions if names else 0
    axes.set_title(f"MIND replay: {scored} impressions ({report.split} split, seed {report.seed})")
    axes.legend(loc="upper right", ncols=len(METRICS), fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    return path


def format_table(report: MindReport) -> str:
    """The metrics as a plain-text table, one method a row."""
    header = f"{'method':<12}" + "".join(f"{METRIC_LABELS[m]:>9}" for m in METRICS)
    header += f"{'impr.':>8}"
    lines = [header, "-" * len(header)]
    for name, scores in report.methods.items():
        cells = "".join(f"{scores.metric(m):>9.4f}" for m in METRICS)
        lines.append(f"{name:<12}{cells}{scores.impressions:>8}")
    return "\n".join(lines)


def rich_table(report: MindReport) -> Any:
    """The metrics as a :class:`rich.table.Table`, for the terminal."""
    from rich.table import Table

    table = Table(title=f"MIND replay ({report.split} split, seed {report.seed})")
    table.add_column("method")
    for metric in METRICS:
        table.add_column(METRIC_LABELS[metric], justify="right")
    table.add_column("impressions", justify="right")
    for name, scores in report.methods.items():
        style = "bold" if name == "tidings" else None
        table.add_row(
            name,
            *(f"{scores.metric(m):.4f}" for m in METRICS),
            str(scores.impressions),
            style=style,
        )
    return table
