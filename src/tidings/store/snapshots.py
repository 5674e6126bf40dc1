"""Feed snapshots: the story order a reader's first page was ranked into, kept in the
database so that any worker process can serve the next page from it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, insert, select, update

from tidings.store.schema import feed_snapshots

KEEP = 8  # newest snapshots kept per reader (a few tabs, a few first pages)
MAX_AGE = timedelta(days=1)  # a cursor older than this names an expired snapshot
SWEEP_EVERY = 100  # saves between sweeps of every reader's expired snapshots


def save(connection: Connection, reader_id: int, stories: Sequence[int], *, now: datetime) -> int:
    """Keep a new snapshot; drops this reader's beyond the newest :data:`KEEP` or older than
    :data:`MAX_AGE`, and every :data:`SWEEP_EVERY` saves everybody's older than that (a
    sweep reads the whole table: on every first page it cost more than the ranking's
    other writes together)."""
    snapshot_id = connection.execute(
        insert(feed_snapshots)
        .values(reader_id=reader_id, stories=list(stories), created_at=now)
        .returning(feed_snapshots.c.id)
    ).scalar_one()
    kept = (
        select(feed_snapshots.c.id)
        .where(feed_snapshots.c.reader_id == reader_id)
        .order_by(feed_snapshots.c.id.desc())
        .limit(KEEP)
    )
    connection.execute(
        delete(feed_snapshots).where(
            feed_snapshots.c.reader_id == reader_id,
            feed_snapshots.c.id.not_in(kept.scalar_subquery()),
        )
    )
    expired = feed_snapshots.c.created_at < now - MAX_AGE
    if snapshot_id % SWEEP_EVERY:
        expired = and_(feed_snapshots.c.reader_id == reader_id, expired)
    connection.execute(delete(feed_snapshots).where(expired))
    return snapshot_id


def get(
    connection: Connection, reader_id: int, snapshot_id: int, *, now: datetime
) -> list[int] | None:
    """A snapshot's story ids; None when it is not this reader's, was pruned or expired."""
    row = connection.execute(
        select(feed_snapshots.c.stories, feed_snapshots.c.created_at).where(
            feed_snapshots.c.id == snapshot_id, feed_snapshots.c.reader_id == reader_id
        )
    ).first()
    if row is None or row.created_at < now - MAX_AGE:
        return None
    return [int(i) for i in row.stories]


def extend(connection: Connection, snapshot_id: int, stories: Sequence[int]) -> None:
    """Replace a snapshot's story ids by a longer list (its old ones first, unchanged)."""
    connection.execute(
        update(feed_snapshots)
        .where(feed_snapshots.c.id == snapshot_id)
        .values(stories=list(stories))
    )
