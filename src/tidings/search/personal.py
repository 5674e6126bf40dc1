"""Fusing the two rankings, and the light personal re-rank of a signed-in reader's results.
Pure.

Reciprocal rank fusion (Cormack et al., 2009) adds ``1 / (K + rank)`` over the lists an
article appears in: it needs no calibration between bm25 and cosine scales, and an article
both lists agree on rises above one that only one list likes.

The personal re-rank only nudges: a result about a topic the reader follows, or from a
source they read, gains a bounded share of its score, and the story holding the best
full-text match never moves down for it — what the reader typed comes first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

K = 60  # the usual constant: damps the difference between the first few ranks
FOLLOWED_BOOST = 0.5  # a result carrying a followed topic counts up to 1.5×
SOURCE_BOOST = 0.3  # … from the reader's most read source, up to 1.3×


def fuse(*rankings: Sequence[int]) -> dict[int, float]:
    """Reciprocal rank fusion of best-first id lists: id → fused score."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (K + rank + 1)
    return fused


@dataclass(slots=True)
class Row:
    """One candidate story while results are ordered."""

    key: tuple[int, int]  # (story id, 0), or (0, article id) for an article in no story
    article_id: int  # its best-matching article
    score: float
    followed: str | None = None  # a followed topic key of that article
    source: str | None = None


def personalise(
    rows: list[Row],
    *,
    followed: frozenset[str],
    source_affinity: Mapping[str, float],
    topics: Mapping[int, Sequence[str]],
    best_textual: tuple[int, int] | None,
) -> list[Row]:
    """``rows`` (best first) re-ordered for a reader: boosts for followed topics and read
    sources (``topics``: article id → topic keys), the best textual match held in place."""
    if not rows or not (followed or source_affinity):
        return rows
    top_affinity = max(source_affinity.values(), default=0.0) or 1.0
    before = {row.key: n for n, row in enumerate(rows)}
    for row in rows:
        keys = topics.get(row.article_id, ())
        row.followed = next((k for k in keys if k in followed), None)
        boost = FOLLOWED_BOOST if row.followed else 0.0
        if row.source:
            boost += SOURCE_BOOST * source_affinity.get(row.source, 0.0) / top_affinity
        row.score *= 1.0 + boost
    ordered = sorted(rows, key=lambda r: (-r.score, before[r.key]))
    if best_textual is not None and best_textual in before:
        place = before[best_textual]
        now = next(n for n, r in enumerate(ordered) if r.key == best_textual)
        if now > place:
            ordered.insert(place, ordered.pop(now))
    return ordered
