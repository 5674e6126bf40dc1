"""Stories in the store: one event across outlets, with stable ids and a timeline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from sqlalchemy import Connection, bindparam, func, insert, select, update

from tidings.errors import NotFound
from tidings.store.schema import articles, stories
from tidings.store.understanding import vectors


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    article_id: int
    title: str
    source: str | None
    published: datetime | None
    url: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "published": self.published.isoformat() if self.published else None,
            "url": self.url,
        }


@dataclass(slots=True)
class Story:
    id: int
    headline: str
    lead_article_id: int | None
    article_count: int
    outlet_count: int
    first_published: datetime | None
    last_published: datetime | None
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def undated(self) -> bool:
        """No article of it gives a publication date: it shows "undated", not a day."""
        return self.last_published is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "headline": self.headline,
            "lead_article_id": self.lead_article_id,
            "articles": self.article_count,
            "outlets": self.outlet_count,
            "first_published": self.first_published.isoformat() if self.first_published else None,
            "last_published": self.last_published.isoformat() if self.last_published else None,
            "undated": self.undated,
            "timeline": [t.to_dict() for t in self.timeline],
        }


def start(connection: Connection, article_id: int, headline: str, *, now: datetime) -> int:
    """A new story whose first article is ``article_id``."""
    return start_many(connection, [(article_id, headline)], now=now)[0]


def start_many(
    connection: Connection, firsts: Sequence[tuple[int, str]], *, now: datetime
) -> list[int]:
    """New stories, one per ``(first article id, headline)``; their ids in the same order."""
    if not firsts:
        return []
    rows = [
        {
            "headline": headline,
            "lead_article_id": article_id,
            "article_count": 1,
            "outlet_count": 1,
            "created_at": now,
            "updated_at": now,
        }
        for article_id, headline in firsts
    ]
    ids = list(
        connection.execute(
            insert(stories).returning(stories.c.id, sort_by_parameter_order=True), rows
        ).scalars()
    )
    join_many(
        connection,
        [(article_id, story_id) for (article_id, _), story_id in zip(firsts, ids, strict=True)],
    )
    return ids


def join(connection: Connection, article_id: int, story_id: int) -> None:
    join_many(connection, [(article_id, story_id)])


_JOIN = (
    update(articles)
    .where(articles.c.id == bindparam("article"))
    .values(story_id=bindparam("story"))
)


def join_many(connection: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    """Put each ``(article id, story id)``'s article in that story."""
    if pairs:
        connection.execute(_JOIN, [{"article": a, "story": s} for a, s in pairs])


_REFRESH = (
    update(stories)
    .where(stories.c.id == bindparam("story"))
    .values(
        headline=bindparam("headline"),
        lead_article_id=bindparam("lead"),
        article_count=bindparam("articles"),
        outlet_count=bindparam("outlets"),
        first_published=bindparam("first"),
        last_published=bindparam("last"),
        updated_at=bindparam("now"),
    )
)


def refresh(connection: Connection, story_ids: Iterable[int], *, now: datetime) -> None:
    """Recount stories and pick each one's representative headline.

    The lead is the article nearest the story's centroid: the telling most like all the
    others, not merely the first to arrive. Stories are read and written 500 at a time,
    so grouping thousands of articles at once (the demo pack) costs a few statements.
    """
    ids = sorted(set(story_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        members: dict[int, list[Any]] = {}
        for row in connection.execute(
            select(
                articles.c.id,
                articles.c.story_id,
                articles.c.title,
                articles.c.source_name,
                articles.c.url,
                articles.c.published_at,
            )
            .where(articles.c.story_id.in_(chunk))
            .order_by(articles.c.id)
        ):
            members.setdefault(row.story_id, []).append(row)
        by_id = _vectors_of([r.id for rows in members.values() for r in rows], connection)
        updates = [_summary(story_id, rows, by_id) for story_id, rows in members.items()]
        if updates:
            connection.execute(_REFRESH, [dict(u, now=now) for u in updates])


def _vectors_of(ids: list[int], connection: Connection) -> dict[int, np.ndarray]:
    found: dict[int, np.ndarray] = {}
    for start in range(0, len(ids), 500):  # stay under bound-parameter limits
        found.update(vectors(connection, ids[start : start + 500]))
    return found


def _summary(story_id: int, rows: list[Any], by_id: dict[int, np.ndarray]) -> dict[str, Any]:
    """One story's lead, counts and dates from its articles."""
    lead = rows[0]
    if len(rows) > 1 and all(r.id in by_id for r in rows):
        matrix = np.stack([by_id[r.id] for r in rows])
        centroid = matrix.mean(axis=0)
        lead = rows[int(np.argmax(matrix @ centroid))]
    # An outlet is the source's name, else the site an article came from.
    outlets = {r.source_name or (r.url and urlsplit(r.url).hostname) or r.id for r in rows}
    # Dated articles only: the day an undated one (a page capture) was ingested is not
    # the day it happened, so it never makes a story look new.
    times = [r.published_at for r in rows if r.published_at is not None]
    return {
        "story": story_id,
        "headline": lead.title,
        "lead": lead.id,
        "articles": len(rows),
        "outlets": len(outlets),
        "first": min(times) if times else None,
        "last": max(times) if times else None,
    }


def _to_story(row: Any) -> Story:
    return Story(
        id=row.id,
        headline=row.headline,
        lead_article_id=row.lead_article_id,
        article_count=row.article_count,
        outlet_count=row.outlet_count,
        first_published=row.first_published,
        last_published=row.last_published,
    )


def recent(
    connection: Connection, *, limit: int = 20, offset: int = 0, min_articles: int = 1
) -> list[Story]:
    """Stories newest first; ``min_articles`` > 1 shows only those told more than once.
    Undated stories come after every dated one, the last to arrive first."""
    rows = connection.execute(
        select(stories)
        .where(stories.c.article_count >= min_articles)
        .order_by(stories.c.last_published.desc().nulls_last(), stories.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_to_story(r) for r in rows]


def get(connection: Connection, story_id: int, *, timeline: bool = True) -> Story:
    """A story with its timeline: every outlet's article, oldest first (undated ones after
    the dated, in the order they arrived)."""
    row = connection.execute(select(stories).where(stories.c.id == story_id)).one_or_none()
    if row is None:
        raise NotFound(f"no story with id {story_id}")
    story = _to_story(row)
    if not timeline:
        return story
    members = connection.execute(
        select(
            articles.c.id,
            articles.c.title,
            articles.c.source_name,
            articles.c.url,
            articles.c.published_at,
        )
        .where(articles.c.story_id == story_id)
        .order_by(articles.c.published_at.asc().nulls_last(), articles.c.fetched_at, articles.c.id)
    )
    story.timeline = [
        TimelineEntry(m.id, m.title, m.source_name, m.published_at, m.url) for m in members
    ]
    return story


def count(connection: Connection, *, min_articles: int = 1) -> int:
    return connection.execute(
        select(func.count()).select_from(stories).where(stories.c.article_count >= min_articles)
    ).scalar_one()
