"""Claiming due sources under a lease, and recording how polling them went.

A worker claims a few due sources at a time by writing its name and a lease expiry on
them; other workers skip sources under a live lease. On PostgreSQL the claim is one
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, so workers on any number of
machines never claim the same source at once and never wait for each other. On SQLite
(one writer at a time) the same single statement is atomic. A worker that dies keeps its
leases only until they expire; then any worker takes the sources over.

The outcome is written only while the worker still holds the lease (a worker that
outlived its lease, whose source another worker has taken, writes nothing).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, and_, func, not_, or_, select, update

from tidings.store import leases
from tidings.store.schema import sources


@dataclass(frozen=True, slots=True)
class Claim:
    """A source this worker holds the lease on, with what polling it needs."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    interval_seconds: int
    errors: int
    claimed_at: datetime
    full_text: str | None = None  # the source's full-text mode (None: "auto")

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


_CLAIMED = (
    sources.c.id,
    sources.c.url,
    sources.c.etag,
    sources.c.last_modified,
    sources.c.interval_seconds,
    sources.c.errors,
    sources.c.full_text,
)


def _free(now: datetime) -> Any:
    return leases.free(sources, now)


def _due(now: datetime) -> Any:
    return or_(sources.c.next_poll_at.is_(None), sources.c.next_poll_at <= now)


def _not_polled_since(round_start: datetime | None) -> Any:
    if round_start is None:
        return True
    return or_(sources.c.last_polled_at.is_(None), sources.c.last_polled_at < round_start)


def _on_host(host: str) -> Any:
    """Whether a source's URL is on ``host`` (as :attr:`Claim.host` gives it)."""
    name = f"[{host}]" if ":" in host else host
    name = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    url = func.lower(sources.c.url)
    return or_(
        *(
            url.like(f"{scheme}://{name}{tail}", escape="\\")
            for scheme in ("http", "https")
            for tail in ("", "/%", ":%", "?%", "#%")
        )
    )


def claim(
    connection: Connection,
    owner: str,
    *,
    limit: int,
    now: datetime,
    lease_seconds: float,
    everything: bool = False,
    round_start: datetime | None = None,
    skip_hosts: Collection[str] = (),
) -> list[Claim]:
    """Lease up to ``limit`` sources that are due (every source with ``everything``), the
    longest overdue first, skipping those another worker holds, those on ``skip_hosts``
    (hosts this worker is busy with) and, given ``round_start``, those polled since then
    (so that a round polls each source at most once)."""
    if limit <= 0:
        return []
    conditions = [_free(now), _not_polled_since(round_start)]
    if not everything:
        conditions.append(_due(now))
    if skip_hosts:
        conditions.append(not_(or_(*(_on_host(h) for h in sorted(skip_hosts)))))
    chosen = (
        select(sources.c.id)
        .where(and_(*conditions))
        .order_by(sources.c.next_poll_at.asc().nulls_first(), sources.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no FOR UPDATE
    )
    rows = connection.execute(
        update(sources)
        .where(sources.c.id.in_(chosen.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(*_CLAIMED)
    ).all()
    claims = [
        Claim(r.id, r.url, r.etag, r.last_modified, r.interval_seconds, r.errors, now, r.full_text)
        for r in rows
    ]
    return sorted(claims, key=lambda c: c.id)


def renew(
    connection: Connection, owner: str, ids: list[int], *, now: datetime, lease_seconds: float
) -> set[int]:
    """Extend this worker's leases on ``ids``; returns the ids it still held."""
    return leases.renew(connection, sources, owner, ids, now=now, lease_seconds=lease_seconds)


def finish(connection: Connection, owner: str, source_id: int, values: dict[str, Any]) -> bool:
    """Write a poll's outcome and give the lease back; False (nothing written) if this
    worker no longer holds it."""
    done = connection.execute(
        update(sources)
        .where(sources.c.id == source_id, sources.c.lease_owner == owner)
        .values(**values, lease_owner=None, lease_expires_at=None)
    )
    return done.rowcount == 1


def release(connection: Connection, owner: str, ids: list[int] | None = None) -> int:
    """Give back this worker's leases (on ``ids``, or all) without polling; how many."""
    return leases.release(connection, sources, owner, ids)


def due_count(
    connection: Connection,
    *,
    now: datetime,
    everything: bool = False,
    round_start: datetime | None = None,
) -> int:
    """How many sources a round would poll now (those other workers hold excepted)."""
    conditions = [_free(now), _not_polled_since(round_start)]
    if not everything:
        conditions.append(_due(now))
    return connection.execute(
        select(func.count()).select_from(sources).where(and_(*conditions))
    ).scalar_one()


def next_due(connection: Connection, *, now: datetime) -> datetime | None:
    """The earliest time a source falls due (``now`` if one is never polled yet; None if
    there are no sources)."""
    earliest, unscheduled, total = connection.execute(
        select(
            func.min(sources.c.next_poll_at),
            func.count().filter(sources.c.next_poll_at.is_(None)),
            func.count(),
        )
    ).one()
    if not total:
        return None
    return now if unscheduled else earliest
