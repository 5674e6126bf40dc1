"""Claiming articles to understand under a lease, as :mod:`tidings.poll.leases` claims
sources to poll.

A worker claims a batch of articles not yet understood by writing its name and a lease
expiry on them; other workers skip articles under a live lease. On PostgreSQL the claim is
one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, so workers on any number of
machines never claim the same article at once and never wait for each other; on SQLite (one
writer at a time) the same single statement is atomic. A worker that dies keeps its leases
only until they expire; then any worker takes the articles over.

What a worker understood is stored only while it still holds the leases (:func:`hold`, in
the transaction that stores it): a worker that outlived its lease writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from tidings.store import leases
from tidings.store.schema import NOT_UNDERSTOOD, articles
from tidings.store.understanding import Pending, topic_names

# With the store's schema, the key of the grouping lock: stores in other schemas of the same
# database do not wait for each other. (Two-part keys never meet the migrations' one-part
# key, 7426100.)
GROUPING_LOCK = 7426109

_READ = (
    articles.c.id,
    articles.c.title,
    articles.c.paragraphs,
    articles.c.key_points,
    articles.c.image_caption,
    articles.c.published_at,
    articles.c.fetched_at,
    articles.c.source_name,
    articles.c.story_id,
)


def _free(now: datetime) -> Any:
    return leases.free(articles, now)


def _waiting(since: datetime | None) -> Any:
    """Articles to understand: new or changed ones, and with ``since`` (a run over every
    article) also those not understood since it began. The first form is the one the
    partial index ``ix_articles_pending`` covers."""
    if since is None:
        return NOT_UNDERSTOOD
    return or_(NOT_UNDERSTOOD, articles.c.understood_at < since)


def claim(
    connection: Connection,
    owner: str,
    *,
    limit: int,
    now: datetime,
    lease_seconds: float,
    after_id: int = 0,
    since: datetime | None = None,
) -> list[Pending]:
    """Lease up to ``limit`` articles waiting to be understood, by id after ``after_id``,
    skipping those another worker holds; returns them with what understanding reads."""
    if limit <= 0:
        return []
    chosen = (
        select(articles.c.id)
        .where(articles.c.id > after_id, _waiting(since), _free(now))
        .order_by(articles.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no FOR UPDATE
    )
    rows = connection.execute(
        update(articles)
        .where(articles.c.id.in_(chosen.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(*_READ)
    ).all()
    rows = sorted(rows, key=lambda r: r.id)
    labels = topic_names(connection, [r.id for r in rows], origin="source")
    return [
        Pending(
            id=r.id,
            title=r.title,
            paragraphs=list(r.paragraphs or []),
            key_points=list(r.key_points or []),
            image_caption=r.image_caption,
            labels=labels.get(r.id, []),
            when=r.published_at or r.fetched_at,
            source=r.source_name,
            story_id=r.story_id,
        )
        for r in rows
    ]


def hold(
    connection: Connection, owner: str, ids: Iterable[int], *, now: datetime, lease_seconds: float
) -> set[int]:
    """Extend this worker's leases on ``ids``; returns the ids it still held. In a
    transaction that goes on to store the batch, it also locks those rows until commit."""
    return leases.renew(connection, articles, owner, ids, now=now, lease_seconds=lease_seconds)


def release(connection: Connection, owner: str, ids: Iterable[int] | None = None) -> int:
    """Give back this worker's leases (on ``ids``, or all); how many."""
    return leases.release(connection, articles, owner, ids)


def waiting_count(connection: Connection, *, now: datetime, since: datetime | None = None) -> int:
    """How many articles wait to be understood (those other workers hold excepted)."""
    return connection.execute(
        select(func.count()).select_from(articles).where(_waiting(since), _free(now))
    ).scalar_one()


def held_count(connection: Connection, *, now: datetime) -> int:
    """How many articles workers hold under a live lease now."""
    return connection.execute(
        select(func.count()).select_from(articles).where(articles.c.lease_expires_at >= now)
    ).scalar_one()


def lock_grouping(connection: Connection) -> None:
    """Take the store's grouping lock until this transaction ends. Two workers putting
    articles in stories at once would each miss the other's uncommitted new stories and
    start the same story twice; on PostgreSQL they take turns here. SQLite needs nothing:
    its single writer already makes them take turns."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"SELECT pg_advisory_xact_lock({GROUPING_LOCK}, hashtext(current_schema()))"
        )
