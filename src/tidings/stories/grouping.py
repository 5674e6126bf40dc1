"""Group articles into stories, one article at a time in publication order.

Incremental by design, as the pipeline sees articles: each article is compared only with
those grouped before it and published within ``WINDOW``, and joins a story or starts one.
Earlier assignments never change, so appending later articles leaves every earlier story
index as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from tidings.stories.similarity import WINDOW, StoryFeatures, choose_among

__all__ = ["group", "processing_order"]


def processing_order(items: Sequence[StoryFeatures]) -> list[int]:
    """Indices of ``items`` in the order they are grouped: by publication time, ties in
    input order; undated items last (they can be compared with anything)."""
    dated = sorted(
        (i for i, item in enumerate(items) if item.published is not None),
        key=lambda i: _published(items[i]),
    )
    return dated + [i for i, item in enumerate(items) if item.published is None]


def _published(item: StoryFeatures) -> datetime:
    assert item.published is not None
    return item.published


def group(items: Sequence[StoryFeatures]) -> list[int]:
    """A story index per item (0, 1, … in the order stories are started)."""
    order = processing_order(items)
    stories = [-1] * len(items)
    if not items:
        return stories
    dims = items[0].vector.shape[0]
    # Grouped so far, in processing order: rows of one matrix so each choice is one matmul.
    vectors = np.empty((len(items), dims), dtype=np.float32)
    story_ids = np.empty(len(items), dtype=np.int64)
    entities: list[frozenset[str]] = []
    leads: list[frozenset[str]] = []
    times: list[datetime | None] = []
    start = 0  # first grouped row still within WINDOW of the current (dated) item
    count = 0
    for n, i in enumerate(order):
        item = items[i]
        if item.published is not None:
            # Dated items come in time order, so the window's start only moves forward.
            while start < n and _older(times[start], item.published):
                start += 1
            lo = start
        else:
            lo = 0  # an undated item may belong with anything
        chosen = None
        if lo < n:
            chosen = choose_among(item, story_ids[lo:n], vectors[lo:n], entities[lo:n], leads[lo:n])
        if chosen is None:
            chosen = count
            count += 1
        stories[i] = chosen
        vectors[n] = item.vector
        story_ids[n] = chosen
        entities.append(item.entities)
        leads.append(item.lead)
        times.append(item.published)
    return stories


def _older(then: datetime | None, now: datetime) -> bool:
    return then is not None and now - then > WINDOW
