"""The sources a reader or newsroom follows: feeds and sites to poll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tidings.errors import NotFound
from tidings.ingest.fulltext import DEFAULT_MODE, MODES, Mode, check_mode
from tidings.safety import MAX_INT64
from tidings.store.schema import sources


@dataclass(frozen=True, slots=True)
class Health:
    """How polling a source goes: when it last answered, when it last failed and why, when
    it is polled next, how often (adapted to how often it publishes) and how much it
    publishes. Times are None until they have happened (``next_poll`` None: due now)."""

    last_polled: datetime | None = None
    last_status: int | None = None  # the HTTP status of the last answer (304, 200, 429…)
    last_success: datetime | None = None
    last_error: datetime | None = None
    error: str | None = None  # the last error's message
    errors: int = 0  # consecutive errors; 0 once it answers again
    next_poll: datetime | None = None
    interval_seconds: int = 3600
    items_per_day: float | None = None
    polling_now: bool = False  # a worker holds its lease

    @property
    def status(self) -> str:
        """The state: "new" (never polled), "ok", "failing" (the last poll failed) or "backing off"
        (several failed in a row)."""
        if self.last_polled is None:
            return "new"
        if self.errors == 0:
            return "ok"
        return "failing" if self.errors == 1 else "backing off"

    def to_dict(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "status": self.status,
            "last_polled": when(self.last_polled),
            "last_status": self.last_status,
            "last_success": when(self.last_success),
            "last_error": when(self.last_error),
            "error": self.error,
            "errors": self.errors,
            "next_poll": when(self.next_poll),
            "interval_seconds": self.interval_seconds,
            "items_per_day": (
                round(self.items_per_day, 2) if self.items_per_day is not None else None
            ),
            "polling_now": self.polling_now,
        }


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    url: str
    title: str | None
    site_url: str | None
    kind: str
    added: datetime
    health: Health = field(default_factory=Health)
    # Whether the pages its entries link to are fetched for their full text: "auto" (when an
    # entry gives only a summary), "always" or "never" (see tidings.ingest.fulltext).
    full_text: Mode = DEFAULT_MODE

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "site_url": self.site_url,
            "kind": self.kind,
            "added": self.added.isoformat(),
            "health": self.health.to_dict(),
            "full_text": self.full_text,
        }


def _to_source(row: Any) -> Source:
    mapping = row._mapping
    health = Health()
    if "next_poll_at" in mapping:  # a row with the polling columns (revision 0006)
        lease = mapping["lease_expires_at"]
        health = Health(
            last_polled=mapping["last_polled_at"],
            last_status=mapping["last_status"],
            last_success=mapping["last_success_at"],
            last_error=mapping["last_error_at"],
            error=mapping["last_error"],
            errors=mapping["errors"] or 0,
            next_poll=mapping["next_poll_at"],
            interval_seconds=mapping["interval_seconds"] or 3600,
            items_per_day=mapping["items_per_day"],
            polling_now=lease is not None and lease > datetime.now(UTC),
        )
    full_text = mapping.get("full_text")  # NULL (and before revision 0007): auto
    full_text = full_text if full_text in MODES else DEFAULT_MODE
    return Source(
        row.id, row.url, row.title, row.site_url, row.kind, row.added_at, health, full_text
    )


def add(
    connection: Connection,
    url: str,
    *,
    now: datetime,
    title: str | None = None,
    site_url: str | None = None,
    kind: str = "feed",
) -> tuple[Source, bool]:
    """Add a source; returns it and whether it is new. Adding a known URL fills in a title."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    new_id = connection.execute(
        dialect.insert(sources)
        .values(url=url, title=title, site_url=site_url, kind=kind, added_at=now)
        .on_conflict_do_nothing(index_elements=["url"])
        .returning(sources.c.id)
    ).scalar_one_or_none()
    if new_id is None and (title or site_url):
        connection.execute(
            update(sources)
            .where(sources.c.url == url, sources.c.title.is_(None))
            .values(title=title, site_url=site_url)
        )
    return by_url(connection, url), new_id is not None


def add_many(
    connection: Connection,
    outlines: Sequence[tuple[str, str | None, str | None]],
    *,
    now: datetime,
    kind: str = "feed",
) -> list[tuple[Source, bool]]:
    """Add (url, title, site_url) sources in a few statements, in order; each with whether
    it is new. A new source has never been polled, so it is due at once. Known URLs keep
    what they have (a missing title is filled in)."""
    if not outlines:
        return []
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    rows = [
        {"url": u, "title": t, "site_url": s, "kind": kind, "added_at": now} for u, t, s in outlines
    ]
    new_ids = {
        r.id
        for r in connection.execute(
            dialect.insert(sources)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["url"])
            .returning(sources.c.id)
        )
    }
    urls = [u for u, _, _ in outlines]
    found = {s.url: s for s in by_urls(connection, urls)}
    for url, title, site_url in outlines:
        known = found[url]
        if known.id not in new_ids and known.title is None and (title or site_url):
            connection.execute(
                update(sources)
                .where(sources.c.id == known.id, sources.c.title.is_(None))
                .values(title=title, site_url=site_url)
            )
    return [(found[u], found[u].id in new_ids) for u in urls]


def by_url(connection: Connection, url: str) -> Source:
    row = connection.execute(select(sources).where(sources.c.url == url)).one_or_none()
    if row is None:
        raise NotFound(f"no source with URL {url}")
    return _to_source(row)


def by_urls(connection: Connection, urls: Sequence[str]) -> list[Source]:
    """The sources with these URLs (those that are sources), in no particular order."""
    if not urls:
        return []
    rows = connection.execute(select(sources).where(sources.c.url.in_(list(urls))))
    return [_to_source(r) for r in rows]


def find(connection: Connection, id_or_url: str) -> Source:
    """A source by numeric id or by URL."""
    # ASCII digits only ("²".isdigit() is true), and within what the id column can hold
    if id_or_url.isascii() and id_or_url.isdigit() and int(id_or_url) <= MAX_INT64:
        row = connection.execute(
            select(sources).where(sources.c.id == int(id_or_url))
        ).one_or_none()
        if row is not None:
            return _to_source(row)
    return by_url(connection, id_or_url)


def all_sources(connection: Connection) -> list[Source]:
    rows = connection.execute(select(sources).order_by(sources.c.id))
    return [_to_source(r) for r in rows]


def remove(connection: Connection, id_or_url: str) -> Source:
    """Remove a source; its stored articles stay (they are the reader's history)."""
    source = find(connection, id_or_url)
    connection.execute(delete(sources).where(sources.c.id == source.id))
    return source


def set_title(connection: Connection, source_id: int, title: str) -> None:
    connection.execute(
        update(sources)
        .where(sources.c.id == source_id, sources.c.title.is_(None))
        .values(title=title)
    )


def set_full_text(connection: Connection, id_or_url: str, mode: str) -> Source:
    """Set whether a source's linked pages are fetched for their full text ("auto", "always"
    or "never"); raises :class:`ValueError` for another mode, :class:`NotFound` for an
    unknown source."""
    mode = check_mode(mode)
    source = find(connection, id_or_url)
    connection.execute(update(sources).where(sources.c.id == source.id).values(full_text=mode))
    return find(connection, str(source.id))


def record_first_poll(connection: Connection, source_id: int, values: dict[str, Any]) -> None:
    """Write the outcome of a source's first fetch (when a reader added it), unless it has
    been polled already."""
    connection.execute(
        update(sources)
        .where(sources.c.id == source_id, sources.c.last_polled_at.is_(None))
        .values(**values)
    )
