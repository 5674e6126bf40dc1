"""Leases on rows of a table that has ``lease_owner`` and ``lease_expires_at`` columns: the
one rule that sources to poll (:mod:`tidings.poll.leases`) and articles to understand
(:mod:`tidings.store.claims`) are shared by workers with. A row is free when it has no
lease or its lease has expired; only the owner extends or gives back its leases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, or_, update


def free(table: Table, now: datetime) -> Any:
    """Rows nobody holds at ``now``."""
    return or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at < now)


def renew(
    connection: Connection,
    table: Table,
    owner: str,
    ids: Iterable[int],
    *,
    now: datetime,
    lease_seconds: float,
) -> set[int]:
    """Extend ``owner``'s leases on ``ids``; the ids it still held. Inside a transaction
    that goes on to write those rows, it also locks them until the commit."""
    ids = list(ids)
    if not ids:
        return set()
    rows = connection.execute(
        update(table)
        .where(table.c.id.in_(ids), table.c.lease_owner == owner)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(table.c.id)
    )
    return {r.id for r in rows}


def release(
    connection: Connection, table: Table, owner: str, ids: Iterable[int] | None = None
) -> int:
    """Give back ``owner``'s leases (on ``ids``, or all of them); how many."""
    condition = table.c.lease_owner == owner
    if ids is not None:
        ids = list(ids)
        if not ids:
            return 0
        condition = and_(condition, table.c.id.in_(ids))
    done = connection.execute(
        update(table).where(condition).values(lease_owner=None, lease_expires_at=None)
    )
    return done.rowcount
