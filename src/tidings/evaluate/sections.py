"""How well articles land in their sections, measured on MIND's editor-given categories.

MIND (Microsoft News, research licence: read for evaluation only, never shipped or trained
on) gives each article a category and subcategory. :func:`gold_sections` maps those to
tidings' sections where the mapping is fair; rows it cannot map (``news/newsus``, viral
videos, kids, …) are left out of the score and counted. Each article's title and abstract
are embedded as the pipeline would embed them, and the classifier sees no labels: MIND's
categories are the answer, not a hint.

Rows are split by a hash of their news id: one fifth is ``dev`` (read while writing the
section descriptions), the rest is ``held-out`` (never looked at while designing).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tidings.evaluate import share
from tidings.understand.embeddings import article_text
from tidings.understand.sections import SectionClassifier

Subset = Literal["all", "dev", "held-out"]

# MIND category → our section, for categories whose every subcategory maps the same way.
# Cars go to lifestyle (where "Motoring" sits on most news sites, beside travel and home),
# not technology: MIND's autos rows are reviews, classics and enthusiasts' stories.
_CATEGORIES: dict[str, str] = {
    "sports": "sport",
    "finance": "business",
    "foodanddrink": "lifestyle",
    "travel": "lifestyle",
    "lifestyle": "lifestyle",
    "autos": "lifestyle",
    "health": "health",
    "tv": "entertainment",
    "music": "entertainment",
    "movies": "entertainment",
    "entertainment": "entertainment",
    "weather": "weather",
}
# (category, subcategory) → the sections that count as right, the usual one first. A few
# subcategories straddle two of our sections; either is a fair answer for them.
_SUBCATEGORIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("news", "newspolitics"): ("politics",),
    ("news", "elections-2020-us"): ("politics",),
    ("news", "newsworld"): ("world",),
    ("news", "newscrime"): ("crime",),
    ("news", "newsscienceandtechnology"): ("science", "technology"),
    ("video", "science"): ("science",),
    ("video", "popculture"): ("entertainment",),
    ("video", "lifestyle"): ("lifestyle",),
    ("video", "sports"): ("sport",),
    ("video", "weather"): ("weather",),
    ("video", "health"): ("health",),
    ("video", "finance"): ("business",),
    ("entertainment", "gaming"): ("entertainment", "technology"),
    ("lifestyle", "lifestyleroyals"): ("lifestyle", "entertainment"),
    ("autos", "autossports"): ("sport", "lifestyle"),  # motor racing
}


def gold_sections(category: str, subcategory: str) -> tuple[str, ...] | None:
    """The sections that are right for a MIND category/subcategory, or None when no section
    is a fair answer (US news at large, good news, opinion, offbeat, viral or animal videos,
    kids): those rows are left out of the score."""
    if (category, subcategory) in _SUBCATEGORIES:
        return _SUBCATEGORIES[(category, subcategory)]
    if category in _CATEGORIES:
        return (_CATEGORIES[category],)
    return None


def in_subset(news_id: str, subset: Subset) -> bool:
    """Whether a row belongs to ``subset``: ``dev`` is a fixed fifth of the ids (by hash)."""
    if subset == "all":
        return True
    dev = hashlib.sha1(news_id.encode("utf-8")).digest()[0] % 5 == 0
    return dev == (subset == "dev")


@dataclass(frozen=True, slots=True)
class MindRow:
    """One labelled MIND article and the sections that count as right for it."""

    news_id: str
    category: str
    subcategory: str
    title: str
    abstract: str
    gold: tuple[str, ...]

    @property
    def text(self) -> str:
        """What the pipeline would embed: the title, then the abstract as the lead."""
        return article_text(self.title, [self.abstract] if self.abstract else [])


def load_rows(
    news_tsv: Path, *, subset: Subset = "held-out", limit: int | None = None
) -> tuple[list[MindRow], int]:
    """The mappable rows of ``subset``, and how many of its labelled rows were left out.

    With ``limit``, the first ``limit`` mappable rows in the order of a hash of their id: a
    fixed sample spread over the whole file, the same on every run.
    """
    rows: list[MindRow] = []
    left_out = 0
    with news_tsv.open(encoding="utf-8") as lines:
        for line in lines:
            columns = line.rstrip("\n").split("\t")
            if len(columns) < 5 or not columns[1] or not in_subset(columns[0], subset):
                continue  # pseudo ids (X…) carry no category
            news_id, category, subcategory, title, abstract = columns[:5]
            gold = gold_sections(category, subcategory)
            if gold is None:
                left_out += 1
                continue
            rows.append(MindRow(news_id, category, subcategory, title, abstract, gold))
    if limit is not None:
        rows.sort(key=lambda r: hashlib.sha1(r.news_id.encode("utf-8")).hexdigest())
        rows = rows[:limit]
    return rows, left_out


@dataclass(slots=True)
class SectionScore:
    """Precision and recall of one section."""

    precision: float
    recall: float
    support: int  # rows whose answer is this section
    predicted: int  # rows the classifier put here


@dataclass(slots=True)
class SectionReport:
    """Accuracy over the scored rows, per-section figures and the confusion counts."""

    rows: int  # rows scored
    correct: int
    accuracy: float
    left_out: int  # labelled rows of the subset with no fair section (not scored)
    sections: dict[str, SectionScore]
    confusion: dict[tuple[str, str], int]  # (answer, predicted) → rows
    seconds_embedding: float = 0.0
    seconds_classifying: float = 0.0
    mistakes: list[tuple[MindRow, str]] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for humans."""
        lines = [
            f"{self.correct}/{self.rows} rows in the right section ({self.accuracy:.1%}); "
            f"{self.left_out} rows left out (no fair section); embedding "
            f"{self.seconds_embedding:.1f} s, classifying {self.seconds_classifying:.3f} s"
        ]
        for section, score in self.sections.items():
            lines.append(
                f"  {section:<13} precision {score.precision:6.1%}  recall {score.recall:6.1%}"
                f"  ({score.support} rows, {score.predicted} predicted)"
            )
        return "\n".join(lines)


def score(rows: list[MindRow], predicted: list[str], left_out: int = 0) -> SectionReport:
    """Compare predictions with the rows' answers.

    A row whose answer allows two sections counts under the one predicted when that is one
    of them, else under its usual section.
    """
    confusion: Counter[tuple[str, str]] = Counter()
    mistakes: list[tuple[MindRow, str]] = []
    for row, guess in zip(rows, predicted, strict=True):
        answer = guess if guess in row.gold else row.gold[0]
        confusion[(answer, guess)] += 1
        if answer != guess:
            mistakes.append((row, guess))
    correct = sum(n for (answer, guess), n in confusion.items() if answer == guess)
    names = sorted({s for pair in confusion for s in pair})
    sections: dict[str, SectionScore] = {}
    for name in names:
        hits = confusion[(name, name)]
        support = sum(n for (answer, _), n in confusion.items() if answer == name)
        guessed = sum(n for (_, guess), n in confusion.items() if guess == name)
        sections[name] = SectionScore(share(hits, guessed), share(hits, support), support, guessed)
    return SectionReport(
        rows=len(rows),
        correct=correct,
        accuracy=share(correct, len(rows)),
        left_out=left_out,
        sections=sections,
        confusion=dict(confusion),
        mistakes=mistakes,
    )


def evaluate_sections(
    news_tsv: Path,
    *,
    subset: Subset = "held-out",
    limit: int | None = None,
    classifier: SectionClassifier | None = None,
    progress: Callable[[str], None] | None = None,
) -> SectionReport:
    """Embed the mappable rows of ``subset`` of a MIND ``news.tsv`` (title + abstract),
    place them in sections without their labels, and score against MIND's categories."""
    classifier = classifier if classifier is not None else SectionClassifier()
    rows, left_out = load_rows(news_tsv, subset=subset, limit=limit)
    if progress:
        progress(f"embedding {len(rows)} rows")
    start = time.perf_counter()
    vectors = classifier.embedder.embed([row.text for row in rows])
    embedded = time.perf_counter()
    predicted = [section.id for section in classifier.classify(vectors)]
    classified = time.perf_counter()
    report = score(rows, predicted, left_out)
    report.seconds_embedding = embedded - start
    report.seconds_classifying = classified - embedded
    return report
