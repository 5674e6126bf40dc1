"""Saving one parsed document's articles under its source, inside the caller's transaction.

The library (ingest, subscribe) and the poller both store parsed feeds; this is the one
place that does it, so that neither has to import the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import Connection

from tidings.errors import NotFound
from tidings.ingest import identity
from tidings.models import Document, Parsed
from tidings.store import articles as article_store
from tidings.store import sources as source_store

Progress = Callable[[int, int], None]  # (articles saved so far, articles in this input)

# Articles saved per batch (a few statements each): large enough that per-statement costs
# vanish, small enough that the IN lists stay well inside every SQLite's variable limit.
BATCH = 500


@dataclass(slots=True)
class IngestResult:
    """What became of one input. ``articles`` holds the ids stored or updated, in order."""

    input: str
    kind: str | None
    status: Literal["ok", "error"]
    articles: list[int] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "kind": self.kind,
            "status": self.status,
            "articles": self.articles,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "warnings": self.warnings,
            "error": self.error,
        }


def save(
    connection: Connection,
    doc: Document,
    kind: str,
    parsed: Parsed,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> IngestResult:
    """Store ``parsed``'s articles (new, updated or unchanged), under the source whose URL is
    ``doc.url`` if there is one. Writes only through ``connection``: the caller's
    transaction decides whether all of it stays."""
    result = IngestResult(doc.name, kind, "ok", warnings=list(parsed.warnings))
    if not parsed.articles:
        result.warnings.append("no articles in this input")
        return result
    default_source = parsed.title or _host(doc.url)
    keys = identity.identity_keys(parsed.articles, kind)
    total = len(parsed.articles)
    source_id = source_id_of(connection, doc.url)
    if source_id is not None and parsed.title:
        source_store.set_title(connection, source_id, parsed.title)
    for article in parsed.articles:
        if not article.source and default_source:
            article.source = default_source
    pairs = list(zip(parsed.articles, keys, strict=True))
    for start in range(0, total, BATCH):
        batch = pairs[start : start + BATCH]
        for saved in article_store.save_many(
            connection, batch, kind=kind, now=now, source_id=source_id
        ):
            result.articles.append(saved.id)
            setattr(result, saved.status, getattr(result, saved.status) + 1)
        if progress:
            progress(start + len(batch), total)
    return result


def source_id_of(connection: Connection, url: str | None) -> int | None:
    """The id of the source with this URL, if it is one."""
    if not url:
        return None
    try:
        return source_store.by_url(connection, url).id
    except NotFound:
        return None


def _host(url: str | None) -> str | None:
    return urlsplit(url).hostname if url else None
