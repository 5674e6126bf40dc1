"""Storing what a poll fetched: parse the feed, complete summaries with their pages' text,
save the articles under the source, and, the first time a source brings articles, have its
subscribers follow its outlet (a feed imported from OPML is fetched here, not by the
request that imported it)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from tidings.errors import TidingsError, describe
from tidings.ingest import fulltext, identity, pipeline
from tidings.ingest.detect import FEED_KINDS
from tidings.models import Document, Parsed
from tidings.poll import stored
from tidings.store import documents
from tidings.store import subscriptions as subscription_store
from tidings.store.documents import IngestResult


def ingest(
    engine: Engine,
    doc: Document,
    source_url: str,
    *,
    full_text: str | None = None,
    budget: float | None = None,
    attempts: int = 3,
) -> tuple[IngestResult, list[datetime | None]]:
    """Store a polled feed's articles under its source, and return their publication times
    too (the schedule adapts to them). Entries that ``full_text`` (the source's mode, None:
    "auto") asks for first get their linked page's text (within ``budget`` seconds).
    Workers storing the same articles at once may deadlock or collide on PostgreSQL: the
    losing transaction rolled back whole, so it is simply tried again."""
    doc = replace(doc, url=source_url)
    try:
        kind, parsed = pipeline.parse(doc)
    except TidingsError as exc:
        return IngestResult(doc.name, None, "error", error=str(exc)), []
    except Exception as exc:  # a parser bug must not stop the poller
        problem = f"could not be read ({describe(exc, 480)})"
        return IngestResult(doc.name, None, "error", error=problem), []
    if kind in FEED_KINDS:
        complete_full_text(engine, parsed, kind, full_text, budget)
    published = [a.published for a in parsed.articles]
    for attempt in range(1, attempts + 1):
        try:
            return _save(engine, doc, kind, parsed), published
        except (OperationalError, IntegrityError) as exc:
            if attempt == attempts:
                problem = f"could not be stored ({describe(exc, 480)})"
                return IngestResult(doc.name, kind, "error", error=problem), published
            time.sleep(0.05 * attempt)
        except (SQLAlchemyError, ValueError, UnicodeError) as exc:  # rolled back whole
            problem = f"could not be stored ({describe(exc, 480)})"
            return IngestResult(doc.name, kind, "error", error=problem), published
    raise AssertionError("unreachable")


def _save(engine: Engine, doc: Document, kind: str, parsed: Parsed) -> IngestResult:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        source_id = documents.source_id_of(connection, doc.url)
        first = source_id is not None and not subscription_store.with_articles(
            connection, [source_id]
        )
        result = documents.save(connection, doc, kind, parsed, now=now)
        if first and source_id is not None and result.added:
            for reader_id in subscription_store.subscribers(connection, source_id):
                subscription_store.follow_outlets(connection, reader_id, [source_id], now=now)
    return result


def complete_full_text(
    engine: Engine, parsed: Parsed, kind: str, mode: str | None, budget: float | None
) -> None:
    """Replace summaries by their pages' text where ``mode`` asks for it, in place; what
    went wrong becomes the feed's warnings. Pages of articles already stored with more
    than their summary are not fetched again: the stored text is kept."""
    wanted = [fulltext.wants_page(a, mode) for a in parsed.articles]
    if not any(wanted):
        return
    keys = identity.identity_keys(parsed.articles, kind)
    with engine.connect() as connection:
        known = stored.bodies(connection, [k for k, w in zip(keys, wanted, strict=True) if w])
    report = fulltext.complete(
        parsed.articles,
        keys,
        mode=mode,
        stored=known,
        budget=fulltext.BUDGET_SECONDS if budget is None else budget,
    )
    parsed.warnings.extend(report.warnings)
