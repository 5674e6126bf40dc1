"""Feed snapshots: the story order a reader's first page was ranked into, kept in the
database so that any worker process can serve the next page from it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from tidings.store.schema import feed_snapshots

KEEP = 8  # newest snapshots kept per reader (a few tabs, a few first pages)
MAX_AGE = timedelta(days=1)  # a cursor older than this names an expired snapshot


def save(connection: Connection, reader_id: int, stories: Sequence[int], *, now: datetime) -> int:
    """Keep a new snapshot; drops this reader's beyond the newest :data:`KEEP` and any older
    than :data:`MAX_AGE`."""
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
    connection.execute(delete(feed_snapshots).where(feed_snapshots.c.created_at < now - MAX_AGE))
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
