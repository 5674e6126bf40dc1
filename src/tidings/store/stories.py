"""Stories in the store: one event across outlets, with stable ids and a timeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from sqlalchemy import Connection, func, insert, select, update

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "headline": self.headline,
            "lead_article_id": self.lead_article_id,
            "articles": self.article_count,
            "outlets": self.outlet_count,
            "first_published": self.first_published.isoformat() if self.first_published else None,
            "last_published": self.last_published.isoformat() if self.last_published else None,
            "timeline": [t.to_dict() for t in self.timeline],
        }


def start(connection: Connection, article_id: int, headline: str, *, now: datetime) -> int:
    """A new story whose first article is ``article_id``."""
    story_id = connection.execute(
        insert(stories)
        .values(
            headline=headline,
            lead_article_id=article_id,
            article_count=1,
            outlet_count=1,
            created_at=now,
            updated_at=now,
        )
        .returning(stories.c.id)
    ).scalar_one()
    join(connection, article_id, story_id)
    return story_id


def join(connection: Connection, article_id: int, story_id: int) -> None:
    connection.execute(
        update(articles).where(articles.c.id == article_id).values(story_id=story_id)
    )


def refresh(connection: Connection, story_ids: Iterable[int], *, now: datetime) -> None:
    """Recount stories and pick each one's representative headline.

    The lead is the article nearest the story's centroid: the telling most like all the
    others, not merely the first to arrive.
    """
    for story_id in set(story_ids):
        rows = connection.execute(
            select(
                articles.c.id,
                articles.c.title,
                articles.c.source_name,
                articles.c.url,
                func.coalesce(articles.c.published_at, articles.c.fetched_at).label("when"),
            ).where(articles.c.story_id == story_id)
        ).all()
        if not rows:
            continue
        by_id = vectors(connection, [r.id for r in rows])
        lead = rows[0]
        if len(rows) > 1 and len(by_id) == len(rows):
            matrix = np.stack([by_id[r.id] for r in rows])
            centroid = matrix.mean(axis=0)
            lead = rows[int(np.argmax(matrix @ centroid))]
        # An outlet is the source's name, else the site an article came from.
        outlets = {r.source_name or (r.url and urlsplit(r.url).hostname) or r.id for r in rows}
        times = [r.when for r in rows if r.when is not None]
        connection.execute(
            update(stories)
            .where(stories.c.id == story_id)
            .values(
                headline=lead.title,
                lead_article_id=lead.id,
                article_count=len(rows),
                outlet_count=len(outlets),
                first_published=min(times) if times else None,
                last_published=max(times) if times else None,
                updated_at=now,
            )
        )


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
    """Stories newest first; ``min_articles`` > 1 shows only those told more than once."""
    rows = connection.execute(
        select(stories)
        .where(stories.c.article_count >= min_articles)
        .order_by(stories.c.last_published.desc().nulls_last(), stories.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_to_story(r) for r in rows]


def get(connection: Connection, story_id: int, *, timeline: bool = True) -> Story:
    """A story with its timeline: every outlet's article, oldest first."""
    row = connection.execute(select(stories).where(stories.c.id == story_id)).one_or_none()
    if row is None:
        raise NotFound(f"no story with id {story_id}")
    story = _to_story(row)
    if not timeline:
        return story
    when = func.coalesce(articles.c.published_at, articles.c.fetched_at)
    members = connection.execute(
        select(
            articles.c.id,
            articles.c.title,
            articles.c.source_name,
            articles.c.url,
            articles.c.published_at,
        )
        .where(articles.c.story_id == story_id)
        .order_by(when, articles.c.id)
    )
    story.timeline = [
        TimelineEntry(m.id, m.title, m.source_name, m.published_at, m.url) for m in members
    ]
    return story


def count(connection: Connection, *, min_articles: int = 1) -> int:
    return connection.execute(
        select(func.count()).select_from(stories).where(stories.c.article_count >= min_articles)
    ).scalar_one()
