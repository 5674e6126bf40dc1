"""A reader's own list of sources: subscribing adds the source to the store if it is new
(sources are shared, fetched once however many readers follow them); unsubscribing only
takes it off that reader's list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tidings.rank.signals import Event, Kind
from tidings.store import events as event_store
from tidings.store.schema import articles, readers, sources, subscriptions
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


def add_many(
    connection: Connection, reader_id: int, source_ids: Sequence[int], *, now: datetime
) -> set[int]:
    """Put sources on a reader's list in one statement; the ids that were not there yet."""
    if not source_ids:
        return set()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    rows = connection.execute(
        dialect.insert(subscriptions)
        .values([{"reader_id": reader_id, "source_id": i, "added_at": now} for i in source_ids])
        .on_conflict_do_nothing()
        .returning(subscriptions.c.source_id)
    )
    return {r.source_id for r in rows}


def hold_list(connection: Connection, reader_id: int) -> None:
    """Hold the reader's list until the transaction ends, so that two requests of one
    reader cannot both take the last places under the cap: a row lock on PostgreSQL, the
    write lock on SQLite (its transactions begin at their first write)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(readers.c.id).where(readers.c.id == reader_id).with_for_update())
    else:
        connection.execute(update(readers).where(readers.c.id == reader_id).values(id=readers.c.id))


def count(connection: Connection, reader_id: int) -> int:
    """How many sources are on a reader's list (what the per-reader cap counts)."""
    return connection.execute(
        select(func.count())
        .select_from(subscriptions)
        .where(subscriptions.c.reader_id == reader_id)
    ).scalar_one()


def subscribed(connection: Connection, reader_id: int, source_ids: Sequence[int]) -> set[int]:
    """Which of ``source_ids`` are on the reader's list already."""
    if not source_ids:
        return set()
    rows = connection.execute(
        select(subscriptions.c.source_id).where(
            subscriptions.c.reader_id == reader_id, subscriptions.c.source_id.in_(source_ids)
        )
    )
    return {r.source_id for r in rows}


def with_articles(connection: Connection, source_ids: Iterable[int]) -> set[int]:
    """Which of the sources have articles stored (have been fetched)."""
    wanted = list(source_ids)
    if not wanted:
        return set()
    rows = connection.execute(
        select(articles.c.source_id).where(articles.c.source_id.in_(wanted)).distinct()
    )
    return {r.source_id for r in rows}


def subscribers(connection: Connection, source_id: int) -> list[int]:
    """The readers who have the source on their list."""
    rows = connection.execute(
        select(subscriptions.c.reader_id)
        .where(subscriptions.c.source_id == source_id)
        .order_by(subscriptions.c.reader_id)
    )
    return [r.reader_id for r in rows]


def follow_outlets(
    connection: Connection, reader_id: int, source_ids: Iterable[int], *, now: datetime
) -> None:
    """Have the reader follow the outlet names the sources' articles carry
    (``source:<name>``): adding a feed means wanting its stories."""
    follows = [
        Event(Kind.FOLLOW, now, target=f"source:{name}")
        for source_id in source_ids
        for name in article_source_names(connection, source_id)
    ]
    event_store.append(connection, reader_id, follows)


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
