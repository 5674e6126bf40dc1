"""Keeping a page varied: maximal marginal relevance plus a cap per topic. Pure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RELEVANCE_WEIGHT = 0.75  # λ of MMR: relevance vs. difference from what is already chosen
PER_TOPIC = 3  # at most this many items of one main topic on a page
PER_SECTION = 4  # at most this many items of one section in any WINDOW items in a row
WINDOW = 10  # a screen


def diversify(
    scores: np.ndarray,
    vectors: np.ndarray,
    primary: Sequence[str | None],
    limit: int,
    *,
    relevance_weight: float = RELEVANCE_WEIGHT,
    per_topic: int = PER_TOPIC,
    pool: int = 300,
    sections: Sequence[str | None] | None = None,
    per_section: int = PER_SECTION,
    window: int = WINDOW,
) -> list[int]:
    """Indexes of up to ``limit`` candidates in feed order.

    Greedy MMR: each step takes the candidate with the best
    ``λ·relevance − (1−λ)·(cosine to the closest already chosen)``, relevance being the score
    rescaled to 0..1 over the best ``pool`` candidates; a candidate whose main topic already
    has ``per_topic`` items waits until nothing else is left. With ``sections`` (one per
    candidate), a candidate whose section already has ``per_section`` of the last
    ``window`` items waits too, so no screen is all one section.
    """
    if limit <= 0 or len(scores) == 0:
        return []
    order = np.argsort(-scores, kind="stable")[: max(pool, limit)]
    top = scores[order]
    spread = float(top.max() - top.min()) or 1.0
    relevance = (top - top.min()) / spread
    vecs = vectors[order] if vectors.size else np.zeros((len(order), 1), dtype=np.float32)
    closest = np.full(len(order), -1.0)
    taken = np.zeros(len(order), dtype=bool)
    # Main topics as small integers (-1: none), so the cap is one vectorised lookup per step.
    codes_of: dict[str, int] = {}
    codes = np.array(
        [
            -1 if primary[i] is None else codes_of.setdefault(primary[i], len(codes_of))
            for i in order
        ]
    )
    per = np.zeros(len(codes_of) + 1, dtype=np.int64)  # the last slot counts "no topic"
    section_of: dict[str, int] = {}
    section_codes = np.array(
        [
            -1
            if sections is None or sections[i] is None
            else section_of.setdefault(sections[i], len(section_of))
            for i in order
        ]
    )
    recent: list[int] = []  # section codes of the last ``window`` items chosen
    in_window = np.zeros(len(section_of) + 1, dtype=np.int64)
    chosen: list[int] = []
    while len(chosen) < min(limit, len(order)):
        value = relevance_weight * relevance - (1 - relevance_weight) * np.maximum(closest, 0)
        value[taken] = -np.inf
        capped = (codes >= 0) & (per[codes] >= per_topic)
        crowded = (section_codes >= 0) & (in_window[section_codes] >= per_section)
        best = -1
        for blocked in (capped | crowded, capped, crowded):
            allowed = np.where(blocked, -np.inf, value)
            if np.isfinite(allowed).any():
                best = int(np.argmax(allowed))
                break
        if best < 0:
            best = int(np.argmax(value))
        taken[best] = True
        chosen.append(int(order[best]))
        if codes[best] >= 0:
            per[codes[best]] += 1
        recent.append(int(section_codes[best]))
        if recent[-1] >= 0:
            in_window[recent[-1]] += 1
        if len(recent) > window:
            gone = recent.pop(0)
            if gone >= 0:
                in_window[gone] -= 1
        closest = np.maximum(closest, vecs @ vecs[best])
    return chosen
