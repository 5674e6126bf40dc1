"""What a reader's feed keeps out — hidden and read stories, muted topics and sources —
each with the reason the "Hidden and why" page gives."""

from __future__ import annotations

import numpy as np

from tidings.rank import profile
from tidings.rank.page import Filtered
from tidings.rank.pool import Columns, Pool
from tidings.store.candidates import PoolStory


def kept_out(
    stories: list[PoolStory], state: profile.ReaderState, columns: Columns, pool: Pool
) -> dict[int, Filtered]:
    out: dict[int, Filtered] = {}
    if not (state.hidden or state.muted or state.read_stories):
        return out
    muted_sources = {m for m in state.muted if m.startswith("source:")}
    # Only stories that may be kept out are looked at one by one: hidden or read ones, and
    # those with a muted topic, found with arrays.
    marked = [*state.hidden, *state.read_stories]
    maybe = np.isin(columns.ids, np.fromiter(marked, dtype=np.int64, count=len(marked)))
    muted_codes = [code for key in state.muted if (code := pool.codes.get(key)) is not None]
    if muted_codes:
        maybe[columns.rows_of_codes()[np.isin(columns.codes, muted_codes)]] = True
    for n in np.flatnonzero(maybe) if not muted_sources else range(len(stories)):
        s = stories[n]
        if s.story_id in out:
            continue
        if s.story_id in state.hidden:
            out[s.story_id] = Filtered(
                s.story_id, s.headline, "hidden", "You hid this story", state.hidden[s.story_id]
            )
            continue
        muted = sorted(s.topics & state.muted) if state.muted else []
        if muted:
            name = s.names.get(muted[0], muted[0])
            out[s.story_id] = Filtered(s.story_id, s.headline, "muted", f"You muted {name}")
            continue
        if muted_sources:
            sources = {f"source:{src}" for _, src in s.articles if src}
            if sources and sources <= muted_sources:
                source = sorted(sources)[0].removeprefix("source:")
                out[s.story_id] = Filtered(s.story_id, s.headline, "muted", f"You muted {source}")
                continue
        if s.story_id in state.read_stories:
            out[s.story_id] = Filtered(
                s.story_id,
                s.headline,
                "read",
                "You already read this",
                state.read_stories[s.story_id],
            )
    return out
