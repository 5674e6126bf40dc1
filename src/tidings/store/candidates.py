"""Reading the stories a feed may show: the newest, and those about given topics, each with
its articles, topic keys, main topic and lead embedding."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Connection, func, select

from tidings.rank.features import topic_key
from tidings.store.schema import article_embeddings, article_topics, articles, stories, topics
from tidings.store.understanding import vector_from_bytes

_CHUNK = 500  # ids per IN (...) list: under every backend's bound-parameter limit
_FLOOR = datetime.min.replace(tzinfo=UTC)
UNDATED_SHARE = 10  # at least 1/UNDATED_SHARE of the newest stories may be undated ones


@dataclass(frozen=True, slots=True)
class PoolStory:
    story_id: int
    headline: str
    lead_article_id: int
    outlets: int
    when: datetime | None  # its newest article's publication time; None: none is dated
    articles: tuple[tuple[int, str | None], ...]  # (article id, source), newest first
    topics: frozenset[str]  # topic keys of all its articles
    primary: str | None  # its lead's heaviest entity or label: what diversity caps
    names: dict[str, str]  # topic key → display name
    vector: np.ndarray | None  # the lead article's embedding
    mixed: bool = False  # its articles come from more than one source
    lead_source: str | None = None
    section: str | None = None  # its lead's section key: a screen is not all one section
    # article id → its own topic keys: a reason names what the article shown is about
    article_topics: dict[int, frozenset[str]] = field(default_factory=dict)


def newest(connection: Connection, limit: int) -> list[PoolStory]:
    """The ``limit`` newest dated stories, then the undated ones that arrived last: at least
    a tenth of ``limit`` of them (whatever is left when there are fewer dated stories), so
    an undated capture is still seen, without a date it does not have."""
    return load(connection, [story for story, _ in newest_stamps(connection, limit)])


def newest_stamps(connection: Connection, limit: int) -> list[tuple[int, datetime]]:
    """(id, last updated) of the stories :func:`newest` loads, in its order: what a pool
    refresh compares with the stories it holds, to load only the new and changed ones."""
    dated = [
        (r.id, r.updated_at)
        for r in connection.execute(
            select(stories.c.id, stories.c.updated_at)
            .where(stories.c.last_published.is_not(None))
            .order_by(stories.c.last_published.desc(), stories.c.id.desc())
            .limit(limit)
        )
    ]
    undated = [
        (r.id, r.updated_at)
        for r in connection.execute(
            select(stories.c.id, stories.c.updated_at)
            .where(stories.c.last_published.is_(None))
            .order_by(stories.c.created_at.desc(), stories.c.id.desc())
            .limit(max(limit // UNDATED_SHARE, limit - len(dated)))
        )
    ]
    return [*dated, *undated]


def about(connection: Connection, keys: Iterable[str], limit: int) -> list[int]:
    """Ids of the newest stories with an article carrying any of these topic keys: by
    publication date, then the undated ones (a page capture), last arrived first — an
    undated story is never "the newest" of its topic for the day it was ingested.

    Reads the newest articles of each topic id in index order (``topic_id, article_id``),
    so a topic with ten thousand articles costs no more than one with ten.
    """
    article_ids: set[int] = set()
    for key in keys:
        for prefix in ("label", "entity", "section"):
            article_ids.update(
                connection.execute(
                    select(article_topics.c.article_id)
                    .where(article_topics.c.topic_id == f"{prefix}:{key}")
                    .order_by(article_topics.c.article_id.desc())
                    .limit(limit * 3)
                ).scalars()
            )
    published: dict[int, datetime] = {}  # story → its newest publication date
    arrived: dict[int, datetime] = {}  # story → when its newest article arrived
    ids = sorted(article_ids)
    for start in range(0, len(ids), _CHUNK):
        for r in connection.execute(
            select(articles.c.story_id, articles.c.published_at, articles.c.fetched_at).where(
                articles.c.id.in_(ids[start : start + _CHUNK]), articles.c.story_id.is_not(None)
            )
        ):
            if r.published_at is not None:
                published[r.story_id] = max(r.published_at, published.get(r.story_id, _FLOOR))
            arrived[r.story_id] = max(r.fetched_at, arrived.get(r.story_id, _FLOOR))

    def newest_first(story: int) -> tuple[bool, datetime]:
        return (story in published, published.get(story) or arrived[story])

    return sorted(arrived, key=newest_first, reverse=True)[:limit]


def load(connection: Connection, story_ids: Sequence[int]) -> list[PoolStory]:
    """The given stories (in that order; unknown ids are skipped)."""
    found: dict[int, PoolStory] = {}
    for start in range(0, len(story_ids), _CHUNK):
        chunk = list(story_ids[start : start + _CHUNK])
        found.update({s.story_id: s for s in _load_chunk(connection, chunk)})
    return [found[i] for i in story_ids if i in found]


def _load_chunk(connection: Connection, story_ids: list[int]) -> list[PoolStory]:
    heads = {
        r.id: r
        for r in connection.execute(
            select(
                stories.c.id,
                stories.c.headline,
                stories.c.lead_article_id,
                stories.c.outlet_count,
                stories.c.last_published,
            ).where(stories.c.id.in_(story_ids))
        )
    }
    members: dict[int, list[tuple[int, str | None]]] = {}
    for r in connection.execute(
        select(articles.c.id, articles.c.story_id, articles.c.source_name)
        .where(articles.c.story_id.in_(story_ids))
        .order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
    ):
        members.setdefault(r.story_id, []).append((r.id, r.source_name))
    article_ids = [a for group in members.values() for a, _ in group]
    keys: dict[int, list[tuple[str, str, str]]] = {}  # article → (key, name, origin)
    for start in range(0, len(article_ids), _CHUNK):
        for r in connection.execute(
            select(
                article_topics.c.article_id,
                article_topics.c.topic_id,
                article_topics.c.origin,
                topics.c.name,
            )
            .join(topics, topics.c.id == article_topics.c.topic_id)
            .where(article_topics.c.article_id.in_(article_ids[start : start + _CHUNK]))
            .order_by(article_topics.c.article_id, article_topics.c.weight.desc())
        ):
            keys.setdefault(r.article_id, []).append((topic_key(r.topic_id), r.name, r.origin))
    leads = {
        story_id: (
            head.lead_article_id
            if head.lead_article_id in dict(members.get(story_id, ()))
            else members[story_id][0][0]
        )
        for story_id, head in heads.items()
        if members.get(story_id)
    }
    vectors = {
        r.article_id: vector_from_bytes(r.vector)
        for r in connection.execute(
            select(article_embeddings.c.article_id, article_embeddings.c.vector).where(
                article_embeddings.c.article_id.in_(list(leads.values()))
            )
        )
    }
    pool = []
    for story_id, lead in leads.items():
        head = heads[story_id]
        story_keys = [k for a, _ in members[story_id] for k in keys.get(a, ())]
        lead_keys = keys.get(lead, [])
        primary = next((k for k, _, origin in lead_keys if origin != "section"), None)
        pool.append(
            PoolStory(
                story_id=story_id,
                headline=head.headline,
                lead_article_id=lead,
                outlets=max(1, head.outlet_count or 1),
                when=head.last_published,
                articles=tuple(members[story_id]),
                topics=frozenset(k for k, _, _ in story_keys),
                primary=primary,
                names={k: name for k, name, _ in reversed(story_keys)},
                vector=vectors.get(lead),
                mixed=len({src for _, src in members[story_id]}) > 1,
                lead_source=next((src for a, src in members[story_id] if a == lead), None),
                section=next((k for k, _, origin in lead_keys if origin == "section"), None),
                article_topics={
                    a: frozenset(k for k, _, _ in keys.get(a, ())) for a, _ in members[story_id]
                },
            )
        )
    return pool


@dataclass(frozen=True, slots=True)
class ReadArticle:
    """An article a reader acted on, as the profile needs it."""

    id: int
    title: str
    source: str | None
    story_id: int | None
    topics: list[str]  # topic keys, heaviest first
    names: dict[str, str]  # topic key → display name
    vector: np.ndarray | None


def read_articles(connection: Connection, ids: Sequence[int]) -> dict[int, ReadArticle]:
    """Titles, sources, topic keys and embeddings of the articles in a reader's history."""
    found: dict[int, ReadArticle] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        keys: dict[int, list[tuple[str, str]]] = {}
        for r in connection.execute(
            select(article_topics.c.article_id, article_topics.c.topic_id, topics.c.name)
            .join(topics, topics.c.id == article_topics.c.topic_id)
            .where(article_topics.c.article_id.in_(chunk))
            .order_by(article_topics.c.article_id, article_topics.c.weight.desc())
        ):
            keys.setdefault(r.article_id, []).append((topic_key(r.topic_id), r.name))
        rows = connection.execute(
            select(
                articles.c.id,
                articles.c.title,
                articles.c.source_name,
                articles.c.story_id,
                article_embeddings.c.vector,
            )
            .outerjoin(article_embeddings, article_embeddings.c.article_id == articles.c.id)
            .where(articles.c.id.in_(chunk))
        )
        for r in rows:
            pairs = keys.get(r.id, [])
            found[r.id] = ReadArticle(
                id=r.id,
                title=r.title,
                source=r.source_name,
                story_id=r.story_id,
                topics=[k for k, _ in pairs],
                names=dict(reversed(pairs)),
                vector=None if r.vector is None else vector_from_bytes(r.vector),
            )
    return found


def topic_names(connection: Connection, keys: Iterable[str]) -> dict[str, str]:
    """Display names of topic keys that exist (labels, entities or sections of that key)."""
    keys = list(dict.fromkeys(keys))
    ids = [f"{prefix}:{key}" for key in keys for prefix in ("label", "entity", "section")]
    names: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        for r in connection.execute(
            select(topics.c.id, topics.c.name).where(topics.c.id.in_(ids[start : start + _CHUNK]))
        ):
            names.setdefault(topic_key(r.id), r.name)
    return names


def popular_topics(connection: Connection, limit: int) -> list[tuple[str, str, int]]:
    """(key, name, articles) of the most used labels and entities — what onboarding offers:
    each topic once (one slug, alias or case of it), and no outlets."""
    from tidings.understand.topic_aliases import Topic, distinct_topics

    rows = connection.execute(
        select(topics.c.id, topics.c.name, topics.c.kind, func.count().label("n"))
        .join(article_topics, article_topics.c.topic_id == topics.c.id)
        .where(topics.c.kind != "section")
        .group_by(topics.c.id, topics.c.name, topics.c.kind)
        .order_by(func.count().desc(), topics.c.name)
        .limit(limit * 3)
    )
    found = [Topic(topic_key(r.id), r.name, r.kind, r.n) for r in rows]
    return [(t.key, t.name, t.articles) for t in distinct_topics(found, limit)]
