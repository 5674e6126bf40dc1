"""The sources a reader or newsroom follows: feeds and sites to poll."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tidings.errors import NotFound
from tidings.store.schema import sources


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    url: str
    title: str | None
    site_url: str | None
    kind: str
    added: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "site_url": self.site_url,
            "kind": self.kind,
            "added": self.added.isoformat(),
        }


def _to_source(row: Any) -> Source:
    return Source(row.id, row.url, row.title, row.site_url, row.kind, row.added_at)


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


def by_url(connection: Connection, url: str) -> Source:
    row = connection.execute(select(sources).where(sources.c.url == url)).one_or_none()
    if row is None:
        raise NotFound(f"no source with URL {url}")
    return _to_source(row)


def find(connection: Connection, id_or_url: str) -> Source:
    """A source by numeric id or by URL."""
    if id_or_url.isdigit():
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
