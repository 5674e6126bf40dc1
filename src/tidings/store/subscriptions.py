"""A reader's own list of sources: subscribing adds the source to the store if it is new
(sources are shared, fetched once however many readers follow them); unsubscribing only
takes it off that reader's list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from tidings.store.schema import articles, sources, subscriptions
from tidings.store.sources import Source, _to_source


def add(connection: Connection, reader_id: int, source_id: int, *, now: datetime) -> bool:
    """Put a source on a reader's list; whether it was not there already."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    added = connection.execute(
        dialect.insert(subscriptions)
        .values(reader_id=reader_id, source_id=source_id, added_at=now)
        .on_conflict_do_nothing()
        .returning(subscriptions.c.source_id)
    ).scalar_one_or_none()
    return added is not None


def remove(connection: Connection, reader_id: int, source_id: int) -> bool:
    """Take a source off a reader's list; whether it was on it."""
    gone = connection.execute(
        delete(subscriptions).where(
            subscriptions.c.reader_id == reader_id, subscriptions.c.source_id == source_id
        )
    )
    return gone.rowcount == 1


def of_reader(connection: Connection, reader_id: int) -> list[Source]:
    """A reader's sources, in the order they were added."""
    rows = connection.execute(
        select(sources)
        .join(subscriptions, subscriptions.c.source_id == sources.c.id)
        .where(subscriptions.c.reader_id == reader_id)
        .order_by(subscriptions.c.added_at, sources.c.id)
    )
    return [_to_source(r) for r in rows]


def article_source_names(connection: Connection, source_id: int) -> list[str]:
    """The outlet names a source's articles carry (what ``source:<name>`` follows)."""
    rows = connection.execute(
        select(articles.c.source_name)
        .where(articles.c.source_id == source_id, articles.c.source_name.is_not(None))
        .distinct()
        .limit(5)
    )
    return sorted(r[0] for r in rows)
