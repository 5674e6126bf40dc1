"""Which article of a story a reader is shown (its lead), and the particulars the reason
beside it may name (:class:`~tidings.rank.reasons.Evidence`): what the reader follows, reads
about, or reads from, as far as it is true of that article."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from tidings.models import Article
from tidings.rank import reasons
from tidings.rank.features import FEATURES, Profile, topic_key
from tidings.rank.pool import Pool
from tidings.store.candidates import PoolStory

FRESH = 0.1  # freshness (about nine days old) under which "Among the newest stories" is no reason
_POPULARITY = FEATURES.index("popularity")
_FRESHNESS = FEATURES.index("freshness")


def source_rank(source: str | None, reader_profile: Profile) -> float:
    if source is None:
        return -1.0
    if f"source:{source}" in reader_profile.muted:
        return -2.0
    followed = 1.0 if f"source:{source}" in reader_profile.followed else 0.0
    return followed + reader_profile.source_affinity.get(source, 0.0)


def lead(story: PoolStory, reader_profile: Profile) -> int:
    """The story's article this reader is shown: one that carries a topic they follow (so
    "You follow X" is true of the card), from the source they like best (one they follow or
    often read; never a muted one while another is left); else the story's lead."""
    if (
        not reader_profile.followed
        and not reader_profile.source_affinity
        and not reader_profile.muted
    ):
        return story.lead_article_id
    topics = {k for k in reader_profile.followed if not k.startswith("source:")}
    nothing: frozenset[str] = frozenset()

    def rank(article: tuple[int, str | None]) -> tuple[bool, bool, bool, float]:
        article_id, source = article
        carries = bool(topics) and not topics.isdisjoint(
            story.article_topics.get(article_id, nothing)
        )
        liked = source_rank(source, reader_profile)
        return (liked > -2.0, carries, liked > 0, liked)

    default = next((a for a in story.articles if a[0] == story.lead_article_id), None)
    best = max(story.articles, key=rank)
    if default is None or rank(best) > rank(default):
        return best[0]
    return story.lead_article_id


def lead_sources(
    stories: list[PoolStory], pool: Pool, reader_profile: Profile, keep: np.ndarray
) -> list[str | None]:
    """Per kept candidate (``stories[keep]``), the source of the article this reader would
    be shown."""
    sources = [stories[i].lead_source for i in keep]
    if not (reader_profile.source_affinity or reader_profile.followed or reader_profile.muted):
        return sources
    rank = np.array([source_rank(n, reader_profile) for n in pool.source_names])
    if not len(rank) or rank.max() <= 0:
        return sources
    best_score = np.where(pool.incidence > 0, rank, -np.inf)
    best = best_score.argmax(axis=1)
    liked = pool.mixed & (best_score[np.arange(len(best)), best] > 0)
    in_pool = keep < len(pool.stories)
    for n in np.flatnonzero(~in_pool):  # followed-topic stories outside the pool
        sources[n] = lead_source(stories[keep[n]], reader_profile)
    for n in np.flatnonzero(in_pool):
        row = keep[n]
        if liked[row]:
            sources[n] = pool.source_names[best[row]]
    return sources


def lead_source(story: PoolStory, reader_profile: Profile) -> str | None:
    if not story.mixed:
        return story.articles[0][1] if story.articles else None
    chosen = lead(story, reader_profile)
    return next((src for a, src in story.articles if a == chosen), None)


def reader_topics(
    stories: list[PoolStory], reader_profile: Profile, history: list[Any]
) -> tuple[list[str | None], np.ndarray]:
    """Per story, the topic of it this reader reads most about (by name; None when they
    read about none of them), and whether two or more of the articles they read carry it."""
    affinity = reader_profile.topic_affinity
    known = frozenset(affinity)
    names: list[str | None] = [None] * len(stories)
    often = np.zeros(len(stories), dtype=bool)
    if not known:
        return names, often
    read_about = Counter(key for a in history for key in set(a.topics))
    for n, story in enumerate(stories):
        if story.topics.isdisjoint(known):
            continue
        key = max(story.topics, key=lambda k: affinity.get(k, 0.0))
        if affinity.get(key, 0.0) > 0:
            names[n] = story.names.get(key, key)
            often[n] = read_about[key] >= 2
    return names, often


def evidence(
    story: PoolStory,
    article: Article,
    reader_profile: Profile,
    read_title: str | None,
    topic: str | None,
    topic_often: bool,
    row: np.ndarray,
    *,
    search: str | None = None,
) -> reasons.Evidence:
    """What the reason beside ``article`` (the story's article shown) may truthfully say;
    ``search``: the query of a followed search the story matches."""
    followed = reader_profile.followed
    own = {topic_key(t.id): t.name for t in reversed(article.topics)}
    mine = sorted(own.keys() & followed)
    elsewhere: tuple[str, str | None] | None = None
    if not mine:
        for other, source in story.articles:
            carried = sorted(story.article_topics.get(other, frozenset()) & followed)
            if other != article.id and carried:
                elsewhere = (story.names.get(carried[0], carried[0]), source)
                break
    added = article.source if article.source and f"source:{article.source}" in followed else None
    source = (
        article.source if reader_profile.source_affinity.get(article.source or "", 0) > 0 else None
    )
    return reasons.Evidence(
        search=search,
        followed=own[mine[0]] if mine else None,
        followed_elsewhere=elsewhere,
        added=added,
        topic=topic,
        topic_often=topic_often,
        read_title=read_title,
        source=source,
        outlets=story.outlets,
        clicked=bool(row[_POPULARITY] > 0),
        fresh=bool(row[_FRESHNESS] > FRESH),
    )
