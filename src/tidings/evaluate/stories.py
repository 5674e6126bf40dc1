"""How well tidings tells when articles report the same story, on two labelled data sets.

* SemEval-2022 Task 8 ("multilingual news article similarity"): pairs of articles rated
  ``Overall`` from 1 (same story) to 4 (unrelated), averaged over annotators. Only the
  English–English pairs are used (the embedder is English). Each article is reduced to what
  the pipeline embeds: its title and the first ~1,000 characters of its lead.
* UCI News Aggregator headlines: headlines with the aggregator's ``STORY`` cluster id (the
  999-row sample, and the full first 1.5 days: 6,366 headlines from 1,948 publishers, which
  the demo pack ships). They are grouped with :func:`tidings.stories.grouping.group` as the
  pipeline would group them: the headline as the only text, its entities found with the
  publisher as the item's source, each item choosing among those before it in time.

The SemEval pairs are split into fixed halves by ``crc32(pair_id)``: ``SAME_STORY_THRESHOLD``
(and ``ENTITY_WEIGHT``) were chosen on the "tune" half with :func:`fit_threshold`; the
"held-out" half, which the quality floors check, never informed them.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from sklearn.metrics import adjusted_rand_score

from tidings.stories.grouping import group
from tidings.stories.similarity import (
    SAME_STORY_THRESHOLD,
    StoryFeatures,
    joins,
    similarity,
    story_features,
)
from tidings.understand.embeddings import article_text, default_embedder
from tidings.understand.pipeline import BATCH_SIZE, MAX_ENTITY_CHARS

Subset = Literal["all", "tune", "held-out"]

#: Overall ≤ this is "same story"; ≥ DIFFERENT_FROM is "different"; between is left out.
SAME_UP_TO = 2.0
DIFFERENT_FROM = 3.0
#: A first line longer than this is not a title: the text has none of its own.
MAX_TITLE_CHARS = 300


@dataclass(frozen=True, slots=True)
class PairReport:
    """Same-story detection on SemEval pairs."""

    subset: Subset
    pairs: int  # English–English pairs scored (all of them count for Pearson)
    pearson: float  # between similarity and −Overall
    labelled: int  # pairs with a clear label: Overall ≤ 2 (same) or ≥ 3 (different)
    left_out: int  # pairs with 2 < Overall < 3: neither label, not in the F1
    same: int  # labelled pairs that are the same story
    threshold: float  # SAME_STORY_THRESHOLD, as used by the grouping
    precision: float
    recall: float
    f1: float
    join_f1: float = math.nan  # of the grouping's join rule (threshold and focus, see joins)

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"{self.subset}: {self.pairs} en-en pairs, Pearson {self.pearson:.3f}; at "
            f"threshold {self.threshold:.2f} same-story P {self.precision:.3f} "
            f"R {self.recall:.3f} F1 {self.f1:.3f} (join rule F1 {self.join_f1:.3f}) over "
            f"{self.labelled} labelled pairs ({self.same} same; {self.left_out} with "
            f"2 < Overall < 3 left out)"
        )


@dataclass(frozen=True, slots=True)
class ClusterReport:
    """Story grouping against gold clusters."""

    items: int
    stories_true: int
    stories_found: int
    precision: float  # of article pairs put in one story, the share that truly are
    recall: float  # of article pairs truly in one story, the share put together
    f1: float
    adjusted_rand: float

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"{self.items} items, {self.stories_found} stories found for "
            f"{self.stories_true} true; pairwise P {self.precision:.3f} R {self.recall:.3f} "
            f"F1 {self.f1:.3f}; adjusted Rand {self.adjusted_rand:.3f}"
        )


# --- SemEval pairs ---------------------------------------------------------------------------


def in_subset(pair_id: str, subset: Subset) -> bool:
    """Whether a pair belongs to ``subset``: a fixed half by ``crc32(pair_id)`` for tuning,
    the other half held out to check the tuned constants generalise."""
    if subset == "all":
        return True
    tune = zlib.crc32(pair_id.encode("utf-8")) % 2 == 0
    return tune == (subset == "tune")


def pair_article_text(text: str) -> str:
    """What the pipeline would embed for a SemEval article: title, then ~1,000 chars of lead.

    The texts carry no separate title: some are "title\\nbody", the rest run title and body
    together on one line, which is then cut as one long lead.
    """
    lines = text.split("\n")
    if len(lines) > 1 and len(lines[0]) <= MAX_TITLE_CHARS:
        return article_text(lines[0], lines[1:])  # the lead the pipeline embeds
    return article_text("", lines)


def _features(
    texts: Sequence[str],
    published: Sequence[datetime | None],
    *,
    entity_texts: Sequence[str] | None = None,
    sources: Sequence[str | None] | None = None,
    batch: int | None = None,
) -> list[StoryFeatures]:
    """What the pipeline knows of each article: the embedding of ``texts``, the entities of
    ``entity_texts`` (default: ``texts``; cut as the pipeline cuts them) found with each
    item's source not counted, and so its focus. With ``batch``, texts are embedded that
    many at a time, as the pipeline does: the int8 embedder quantizes per batch."""
    from tidings.understand.entities import default_extractor

    embedder = default_embedder()
    step = batch or max(len(texts), 1)
    vectors = [
        v
        for start in range(0, len(texts), step)
        for v in embedder.embed(texts[start : start + step])
    ]
    found = default_extractor().extract(
        [t[:MAX_ENTITY_CHARS] for t in (entity_texts or texts)], sources=sources
    )
    return [
        story_features(vector, [(e.name, e.mentions) for e in entities], when)
        for vector, entities, when in zip(vectors, found, published, strict=True)
    ]


def pair_scores(
    csv_path: Path, subset: Subset = "held-out"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(similarity, joins, Overall)`` per English–English pair of ``subset``, in file
    order: the score, and whether the grouping's join rule puts the two in one story."""
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if row["lang1"] == row["lang2"] == "en" and in_subset(row["pair_id"], subset)
        ]
    raw = [row[key] for row in rows for key in ("text1", "text2")]
    texts = [pair_article_text(text) for text in raw]
    features = _features(texts, [None] * len(texts), entity_texts=raw)
    pairs = [(features[2 * i], features[2 * i + 1]) for i in range(len(rows))]
    scores = np.array([similarity(a, b) for a, b in pairs])
    joined = np.array([joins(a, b) for a, b in pairs], dtype=bool)
    return scores, joined, np.array([float(row["Overall"]) for row in rows])


def _counts(predicted: np.ndarray, actual: np.ndarray) -> tuple[float, float, float]:
    tp = int(np.sum(predicted & actual))
    fp = int(np.sum(predicted & ~actual))
    fn = int(np.sum(~predicted & actual))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision, recall, f1


def fit_threshold(scores: np.ndarray, overall: np.ndarray) -> float:
    """The threshold maximising same-story F1 on these pairs: the midpoint of the interval
    of best thresholds, rounded to 0.01. Only ever run on the "tune" half."""
    clear = (overall <= SAME_UP_TO) | (overall >= DIFFERENT_FROM)
    scores, same = scores[clear], overall[clear] <= SAME_UP_TO
    cuts = np.unique(scores)  # F1 only changes as the threshold passes a score
    f1s = np.array([_counts(scores >= cut, same)[2] for cut in cuts])
    best = int(np.argmax(f1s))
    # Any threshold in (score below the best cut, best cut] gives the same predictions.
    low = cuts[best - 1] if best > 0 else cuts[best] - 0.01
    return round(float(low + cuts[best]) / 2, 2)


def evaluate_pairs(
    csv_path: Path, *, subset: Subset = "held-out", threshold: float = SAME_STORY_THRESHOLD
) -> PairReport:
    """Score the English–English SemEval pairs of ``subset`` (default: the held-out half)."""
    scores, joined, overall = pair_scores(csv_path, subset)
    clear = (overall <= SAME_UP_TO) | (overall >= DIFFERENT_FROM)
    same = overall[clear] <= SAME_UP_TO
    precision, recall, f1 = _counts(scores[clear] >= threshold, same)
    join_f1 = _counts(joined[clear], same)[2]
    pearson = float(np.corrcoef(scores, -overall)[0, 1]) if len(scores) > 1 else math.nan
    return PairReport(
        subset=subset,
        pairs=len(scores),
        pearson=pearson,
        labelled=int(clear.sum()),
        left_out=int((~clear).sum()),
        same=int(same.sum()),
        threshold=threshold,
        precision=precision,
        recall=recall,
        f1=f1,
        join_f1=join_f1,
    )


# --- UCI headline clusters -------------------------------------------------------------------


def _timestamp(value: str | None) -> datetime | None:
    """The UCI TIMESTAMP (milliseconds since the epoch, or ISO 8601) as an aware datetime,
    if readable.

    In the shared sample every value reads "1.39E+12" (a spreadsheet rounded them), so all
    headlines share one time and the window plays no part there: they are grouped in file
    order, as the aggregator listed them. The full file gives each headline's time.
    """
    try:
        millis = float(value or "")
    except ValueError:
        try:
            when = datetime.fromisoformat((value or "").replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.utcoffset() is not None else when.replace(tzinfo=UTC)
    if not math.isfinite(millis):
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def pairwise_scores(truth: Sequence[str], found: Sequence[int]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of a clustering, from its contingency counts."""

    def pairs(counts: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    both = pairs(Counter(zip(truth, found, strict=True)))
    predicted, actual = pairs(Counter(found)), pairs(Counter(truth))
    precision = both / predicted if predicted else 0.0
    recall = both / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def read_uci(path: Path) -> list[dict[str, str]]:
    """UCI headline rows with upper-case column names, from the sample CSV or the full
    tab-separated file (gzipped or not)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    dialect = "excel-tab" if path.name.removesuffix(".gz").endswith(".tsv") else "excel"
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    return [{key.upper(): value for key, value in row.items()} for row in reader]


def group_headlines(rows: Sequence[dict[str, str]]) -> list[int]:
    """A story index per UCI row, grouped as the understand pipeline groups headline-only
    items stored in file order: the title embedded (in the pipeline's batches) and searched
    for entities, the publisher as source."""
    features = _features(
        [article_text(row["TITLE"], []) for row in rows],
        [_timestamp(row.get("TIMESTAMP")) for row in rows],
        entity_texts=[row["TITLE"] for row in rows],
        sources=[row.get("PUBLISHER") or None for row in rows],
        batch=BATCH_SIZE,
    )
    return group(features)


def evaluate_clusters(path: Path) -> ClusterReport:
    """Group the UCI headlines into stories and compare with their ``STORY`` ids."""
    rows = read_uci(path)
    found = group_headlines(rows)
    truth = [row["STORY"] for row in rows]
    precision, recall, f1 = pairwise_scores(truth, found)
    return ClusterReport(
        items=len(rows),
        stories_true=len(set(truth)),
        stories_found=len(set(found)),
        precision=precision,
        recall=recall,
        f1=f1,
        adjusted_rand=float(adjusted_rand_score(truth, found)),
    )
