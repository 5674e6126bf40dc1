"""From a reader's events to what the ranker needs: their standing choices (follows, mutes,
hides, saves) and a :class:`~tidings.rank.features.Profile` of their interests. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from tidings.rank.features import Profile
from tidings.rank.signals import DWELL_CAP, DWELL_SECONDS_FOR_ONE, INTEREST, Event, Kind

HISTORY_ITEMS = 50  # the newest articles read that shape the profile
HALF_LIFE_DAYS = 14.0  # an article read two weeks ago counts half as much as one read now
TOPICS_PER_ARTICLE = 8  # the heaviest topics of each article read (entity lists are long)
# Shares are smoothed as if the reader had also read this much (in opens) about nothing in
# particular, so one article read does not make every one of its topics a passion.
PRIOR_READING = 5.0
# What counts as "seen" (shown and not opened): impressions of the last week, but not those
# of the current visit, so that a reader who hides, saves or follows something on a page
# sees the rest of it stay in place; what was shown and left unopened sinks next visit.
SEEN_WINDOW = timedelta(days=7)
VISIT = timedelta(minutes=30)


@dataclass(slots=True)
class ReaderState:
    """What a reader has said and done, folded from their events (later events win)."""

    followed: set[str] = field(default_factory=set)  # topic keys and "source:<name>"
    muted: set[str] = field(default_factory=set)
    hidden: dict[int, datetime] = field(default_factory=dict)  # story → when hidden
    saved: dict[int, datetime] = field(default_factory=dict)  # story → when saved
    read_stories: dict[int, datetime] = field(default_factory=dict)
    # article → (interest weight, last time), in the order first read
    interest: dict[int, tuple[float, datetime]] = field(default_factory=dict)
    fewer_like: dict[int, datetime] = field(default_factory=dict)  # article → when
    seen: Counter[int] = field(default_factory=Counter)  # story → impressions


def fold(events: Iterable[Event]) -> ReaderState:
    """The reader's state after ``events`` (oldest first)."""
    state = ReaderState()
    for e in events:
        apply(state, e)
    return state


def apply(state: ReaderState, e: Event) -> None:
    """Fold one more event into ``state`` (events must come oldest first)."""
    kind = e.kind
    if kind is Kind.IMPRESSION:
        if e.story_id is not None:
            state.seen[e.story_id] += 1
    elif kind in (Kind.FOLLOW, Kind.UNFOLLOW, Kind.MUTE, Kind.UNMUTE) and e.target:
        _follow(state, kind, e.target)
    elif kind in (Kind.HIDE, Kind.UNHIDE, Kind.SAVE, Kind.UNSAVE) and e.story_id is not None:
        chosen = state.hidden if kind in (Kind.HIDE, Kind.UNHIDE) else state.saved
        if kind in (Kind.HIDE, Kind.SAVE):
            chosen[e.story_id] = e.created
        else:
            chosen.pop(e.story_id, None)
        if kind is Kind.SAVE and e.article_id is not None:
            _interest(state, e.article_id, INTEREST[Kind.SAVE], e.created)
    elif kind is Kind.UNREAD and e.story_id is not None:
        state.read_stories.pop(e.story_id, None)  # back in the feed; what was read still counts
    elif kind is Kind.FEWER_LIKE and e.article_id is not None:
        state.fewer_like[e.article_id] = e.created
    elif kind in (Kind.OPEN, Kind.SHARE, Kind.DWELL) and e.article_id is not None:
        weight = INTEREST.get(kind, 0.0)
        if kind is Kind.DWELL:
            weight = min(DWELL_CAP, max(0.0, e.value or 0.0) / DWELL_SECONDS_FOR_ONE)
        _interest(state, e.article_id, weight, e.created)
        if e.story_id is not None and kind is Kind.OPEN:
            state.read_stories[e.story_id] = e.created


def _follow(state: ReaderState, kind: Kind, target: str) -> None:
    if kind is Kind.FOLLOW:
        state.followed.add(target)
        state.muted.discard(target)
    elif kind is Kind.MUTE:
        state.muted.add(target)
        state.followed.discard(target)
    elif kind is Kind.UNFOLLOW:
        state.followed.discard(target)
    else:
        state.muted.discard(target)


def _interest(state: ReaderState, article_id: int, weight: float, when: datetime) -> None:
    before, _ = state.interest.get(article_id, (0.0, when))
    state.interest[article_id] = (before + weight, when)


def history_ids(state: ReaderState) -> list[int]:
    """The articles that shape the profile: the newest :data:`HISTORY_ITEMS` read."""
    newest = sorted(state.interest.items(), key=lambda item: item[1][1])[-HISTORY_ITEMS:]
    return [article_id for article_id, (weight, _) in newest if weight > 0]


def profile(
    state: ReaderState,
    *,
    now: datetime,
    vectors: Mapping[int, np.ndarray],
    topics: Mapping[int, Sequence[str]],
    sources: Mapping[int, str | None],
    seen: Mapping[int, int] | None = None,
) -> Profile:
    """The ranker's view of a reader. ``vectors``, ``topics`` (keys, heaviest first) and
    ``sources`` describe the articles in :func:`history_ids` and ``state.fewer_like``."""
    ids = [i for i in history_ids(state) if i in vectors]
    weights = np.array(
        [
            state.interest[i][0]
            * 0.5
            ** (max(0.0, (now - state.interest[i][1]).total_seconds()) / 86400 / HALF_LIFE_DAYS)
            for i in ids
        ],
        dtype=np.float32,
    )
    total = float(weights.sum()) + PRIOR_READING
    topic_share: Counter[str] = Counter()
    source_share: Counter[str] = Counter()
    for article_id, weight in zip(ids, weights, strict=True):
        for key in dict.fromkeys(topics.get(article_id, ())[:TOPICS_PER_ARTICLE]):
            topic_share[key] += float(weight) / total
        source = sources.get(article_id)
        if source:
            source_share[source] += float(weight) / total
    fewer = [vectors[i] for i in state.fewer_like if i in vectors]
    return Profile(
        history=_stack(vectors[i] for i in ids),
        history_weights=weights,
        topic_affinity=dict(topic_share),
        source_affinity=dict(source_share),
        followed=frozenset(state.followed),
        muted=frozenset(state.muted),
        fewer_like=_stack(fewer),
        seen=dict(seen if seen is not None else state.seen),
    )


def of_read(state: ReaderState, read: Mapping[int, Any], *, now: datetime) -> Profile:
    """:func:`profile` from the articles the reader acted on as the store reads them
    (:class:`tidings.store.candidates.ReadArticle`: ``vector``, ``topics``, ``source``)."""
    return profile(
        state,
        now=now,
        vectors={i: a.vector for i, a in read.items() if a.vector is not None},
        topics={i: a.topics for i, a in read.items()},
        sources={i: a.source for i, a in read.items()},
    )


def _stack(rows: Iterable[np.ndarray]) -> np.ndarray:
    rows = list(rows)
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack(rows).astype(np.float32, copy=False)


def seen_before_visit(shown: Iterable[tuple[datetime, int]], now: datetime) -> Counter[int]:
    """Per story, the times it was shown (``(when, story)`` pairs) that count as seen at
    ``now``: within :data:`SEEN_WINDOW` and before the current :data:`VISIT`."""
    since, until = now - SEEN_WINDOW, now - VISIT
    return Counter(story for when, story in shown if since <= when < until)
