"""Reading articles to understand, and saving what was understood (entities, section,
embedding, extracted key points)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from tidings.ingest.identity import slug
from tidings.store.articles import upsert_ignore
from tidings.store.schema import article_embeddings, article_topics, articles, topics

# What understanding adds to an article's topics (labels from the source stay untouched).
UNDERSTOOD_ORIGINS = ("entity", "section")


@dataclass(frozen=True, slots=True)
class Pending:
    """An article waiting to be understood, with just what understanding reads."""

    id: int
    title: str
    paragraphs: list[str]
    key_points: list[str]
    image_caption: str | None
    labels: list[str]
    when: datetime  # published, else fetched: when the event was news
    source: str | None
    story_id: int | None


@dataclass(frozen=True, slots=True)
class Understood:
    """What understanding found in one article."""

    entities: Sequence[tuple[str, str, int]]  # (name, kind, mentions), most mentioned first
    section: tuple[str, str, float]  # (id, name, confidence)
    vector: np.ndarray
    model: str
    extracted_key_points: list[str] | None  # None when the source gave its own


def save(connection: Connection, article_id: int, understood: Understood, *, now: datetime) -> None:
    """Replace what understanding said about an article before."""
    save_many(connection, [(article_id, understood)], now=now)


_SET_UNDERSTOOD = (
    update(articles)
    .where(articles.c.id == bindparam("article_id"))
    .values(extracted_key_points=bindparam("points"), understood_at=bindparam("at"))
)


def save_many(
    connection: Connection, results: Sequence[tuple[int, Understood]], *, now: datetime
) -> None:
    """Replace what understanding said about many articles, a few statements for them all
    (the demo pack's thousands of articles go in this way in seconds)."""
    if not results:
        return
    ids = [article_id for article_id, _ in results]
    for start in range(0, len(ids), 500):  # stay under bound-parameter limits
        chunk = ids[start : start + 500]
        connection.execute(
            delete(article_topics).where(
                article_topics.c.article_id.in_(chunk),
                article_topics.c.origin.in_(UNDERSTOOD_ORIGINS),
            )
        )
        connection.execute(
            delete(article_embeddings).where(article_embeddings.c.article_id.in_(chunk))
        )
    topic_rows: dict[str, dict[str, Any]] = {}
    link_rows: list[dict[str, Any]] = []
    for article_id, understood in results:
        section_id, section_name, confidence = understood.section
        topic_id = f"section:{section_id}"
        topic_rows.setdefault(topic_id, {"id": topic_id, "name": section_name, "kind": "section"})
        link_rows.append(
            {
                "article_id": article_id,
                "topic_id": topic_id,
                "origin": "section",
                "weight": float(confidence),
            }
        )
        seen: set[str] = set()
        for name, kind, mentions in understood.entities:
            topic_id = f"entity:{slug(name)}"
            if topic_id in seen:
                continue
            seen.add(topic_id)
            topic_rows.setdefault(topic_id, {"id": topic_id, "name": name, "kind": kind})
            link_rows.append(
                {
                    "article_id": article_id,
                    "topic_id": topic_id,
                    "origin": "entity",
                    "weight": mentions,
                }
            )
    upsert_ignore(connection, topics, list(topic_rows.values()))
    upsert_ignore(connection, article_topics, link_rows)
    connection.execute(
        insert(article_embeddings),
        [
            {
                "article_id": article_id,
                "model": understood.model,
                "vector": np.asarray(understood.vector, dtype="<f4").tobytes(),
            }
            for article_id, understood in results
        ],
    )
    connection.execute(
        _SET_UNDERSTOOD,
        [
            {"article_id": article_id, "points": understood.extracted_key_points, "at": now}
            for article_id, understood in results
        ],
    )


@dataclass(frozen=True, slots=True)
class Member:
    """An already-grouped article near in time: what story grouping compares against."""

    article_id: int
    story_id: int
    vector: np.ndarray
    entities: frozenset[str]
    when: datetime
    source: str | None


def members_between(connection: Connection, start: datetime, end: datetime) -> list[Member]:
    """Grouped articles whose news time falls in ``[start, end]``, with vectors and entities."""
    when = articles.c.published_at
    rows = connection.execute(
        select(
            articles.c.id,
            articles.c.story_id,
            articles.c.published_at,
            articles.c.fetched_at,
            articles.c.source_name,
            article_embeddings.c.vector,
        )
        .join(article_embeddings, article_embeddings.c.article_id == articles.c.id)
        .where(
            articles.c.story_id.is_not(None),
            or_(
                and_(when.is_not(None), when >= start, when <= end),
                and_(when.is_(None), articles.c.fetched_at >= start, articles.c.fetched_at <= end),
            ),
        )
    ).all()
    entities = topic_names(connection, [r.id for r in rows], origin="entity")
    return [
        Member(
            article_id=r.id,
            story_id=r.story_id,
            vector=vector_from_bytes(r.vector),
            entities=frozenset(entities.get(r.id, ())),
            when=r.published_at or r.fetched_at,
            source=r.source_name,
        )
        for r in rows
    ]


def topic_names(connection: Connection, ids: Iterable[int], *, origin: str) -> dict[int, list[str]]:
    """Per article, the names of its topics of one origin ("source" labels, "entity" …),
    heaviest (most mentioned) first."""
    ids = list(ids)
    found: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):  # stay under bound-parameter limits
        rows = connection.execute(
            select(article_topics.c.article_id, topics.c.name)
            .join(topics, topics.c.id == article_topics.c.topic_id)
            .where(
                article_topics.c.article_id.in_(ids[start : start + 500]),
                article_topics.c.origin == origin,
            )
            .order_by(article_topics.c.article_id, article_topics.c.weight.desc())
        )
        for row in rows:
            found.setdefault(row.article_id, []).append(row.name)
    return found


def vectors(connection: Connection, ids: Sequence[int]) -> dict[int, np.ndarray]:
    rows = connection.execute(
        select(article_embeddings.c.article_id, article_embeddings.c.vector).where(
            article_embeddings.c.article_id.in_(list(ids))
        )
    )
    return {r.article_id: vector_from_bytes(r.vector) for r in rows}


def vector_from_bytes(data: Any) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype="<f4")


def known_entity_names(
    connection: Connection, *, min_articles: int = 2, limit: int = 100_000
) -> list[tuple[str, str]]:
    """``(name, kind)`` of the entities at least ``min_articles`` articles name, the most
    named first: the names understanding looks up in text instead of running NER over it."""
    named = func.count(article_topics.c.article_id)
    rows = connection.execute(
        select(topics.c.name, topics.c.kind)
        .join(article_topics, article_topics.c.topic_id == topics.c.id)
        .where(article_topics.c.origin == "entity")
        .group_by(topics.c.id, topics.c.name, topics.c.kind)
        .having(named >= min_articles)
        .order_by(named.desc(), topics.c.id)
        .limit(limit)
    )
    return [(r.name, r.kind) for r in rows]
