"""What search reads of the store to make its result rows: each matched article's story,
news time and source, the stories' headlines and sizes, and articles' topic keys (for the
re-rank of a signed-in reader). Ids come in lists of a few hundred, read in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from tidings.rank.features import topic_key
from tidings.store.schema import article_topics, articles, stories

_CHUNK = 500
_NEVER = datetime.min.replace(tzinfo=UTC)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[start : start + _CHUNK]) for start in range(0, len(ids), _CHUNK)]


def article_rows(
    connection: Connection, ids: Sequence[int]
) -> dict[int, tuple[int | None, datetime, str | None]]:
    """id → (story id, news time, source) of the articles of ``ids`` that still exist."""
    found: dict[int, tuple[int | None, datetime, str | None]] = {}
    when = func.coalesce(articles.c.published_at, articles.c.fetched_at)
    for chunk in _chunks(ids):
        rows = connection.execute(
            select(articles.c.id, articles.c.story_id, when, articles.c.source_name).where(
                articles.c.id.in_(chunk)
            )
        )
        for i, story, moment, source in rows:
            found[int(i)] = (story, moment or _NEVER, source)
    return found


def story_rows(connection: Connection, ids: Sequence[int]) -> dict[int, tuple[str, int, int]]:
    """id → (headline, outlets, articles) of the stories of ``ids`` (each count at least 1)."""
    found: dict[int, tuple[str, int, int]] = {}
    for chunk in _chunks(ids):
        rows = connection.execute(
            select(
                stories.c.id, stories.c.headline, stories.c.outlet_count, stories.c.article_count
            ).where(stories.c.id.in_(chunk))
        )
        found.update((int(i), (h, max(1, o or 1), max(1, a or 1))) for i, h, o, a in rows)
    return found


def topic_keys(connection: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    """article id → its topic keys, heaviest first."""
    found: dict[int, list[str]] = {}
    for chunk in _chunks(ids):
        rows = connection.execute(
            select(article_topics.c.article_id, article_topics.c.topic_id)
            .where(article_topics.c.article_id.in_(chunk))
            .order_by(article_topics.c.article_id, article_topics.c.weight.desc())
        )
        for article_id, topic_id in rows:
            found.setdefault(int(article_id), []).append(topic_key(topic_id))
    return found
