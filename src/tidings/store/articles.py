"""Saving and reading articles. Every function takes an open connection; callers own the
transaction, so one input's articles land together or not at all."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from itertools import chain
from typing import Any, Literal

import orjson
from sqlalchemy import Connection, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from tidings.errors import NotFound
from tidings.ingest.identity import content_hash, has_substantial_content, slug
from tidings.models import Article, Image, Media, ParsedArticle, Topic
from tidings.safety import clean_article, safe_url
from tidings.store.schema import article_topics, articles, topics

SaveStatus = Literal["added", "updated", "unchanged"]

# Columns compared to decide whether a re-ingested article changed at all.
_COMPARED = (
    "url", "title", "key_points", "paragraphs", "byline", "published_at", "language",
    "source_name", "image_url", "image_caption", "image_credit", "media", "external_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Saved:
    id: int
    status: SaveStatus


def _values(parsed: ParsedArticle, kind: str, digest: str) -> dict[str, Any]:
    image = parsed.image
    return {
        "url": parsed.url,
        "external_id": parsed.external_id,
        "content_hash": digest,
        "kind": kind,
        "title": parsed.title,
        "key_points": list(parsed.key_points),
        "paragraphs": list(parsed.paragraphs),
        "byline": parsed.byline,
        "published_at": parsed.published,
        "language": parsed.language,
        "source_name": parsed.source,
        "image_url": image.url if image else None,
        "image_caption": image.caption if image else None,
        "image_credit": image.credit if image else None,
        "media": [m.to_dict() for m in parsed.media],
        "raw": parsed.raw,
    }


def _dialect(connection: Connection) -> Any:
    return postgresql if connection.dialect.name == "postgresql" else sqlite


def upsert_ignore(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on either backend (safe when workers race)."""
    if rows:
        connection.execute(_dialect(connection).insert(table).on_conflict_do_nothing(), rows)


# Statements are built once and take their values as parameters: building a statement per
# article cost more than running it.
_BY_KEY = select(articles).where(articles.c.canonical_url == bindparam("key"))
_BY_HASH = (
    select(articles).where(articles.c.content_hash == bindparam("digest")).order_by(articles.c.id)
)
_UPDATE = update(articles).where(articles.c.id == bindparam("article_id"))
_CONTENT_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:digest, 0))")
_INSERTS = {
    name: dialect.insert(articles)
    .on_conflict_do_nothing(index_elements=["canonical_url"])
    .returning(articles.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def save(
    connection: Connection,
    parsed: ParsedArticle,
    *,
    key: str,
    kind: str,
    now: datetime,
    source_id: int | None = None,
) -> Saved:
    """Add the article, or update the stored one with the same key or the same content.

    Every stored article passes here (ingest, polling, full text), so this is where its text
    loses control characters, NULs and lone surrogates (XML and PostgreSQL refuse them) and
    its links and pictures any scheme but http(s): see :func:`tidings.safety.clean_article`.
    """
    parsed = clean_article(parsed)
    digest = content_hash(parsed.title, parsed.paragraphs)
    values = _values(parsed, kind, digest)
    existing = connection.execute(_BY_KEY, {"key": key}).one_or_none()
    if existing is None and has_substantial_content(parsed.paragraphs):
        if connection.dialect.name == "postgresql":
            # Two workers storing the same content under different keys (one story in two
            # feeds) would both find nothing here and both insert. The first holds this lock
            # until it commits; the second then finds its row. (SQLite has one writer.)
            connection.execute(_CONTENT_LOCK, {"digest": digest})
        existing = connection.execute(_BY_HASH, {"digest": digest}).first()
    if existing is None:
        row = {
            "canonical_url": key,
            "fetched_at": now,
            "updated_at": now,
            "source_id": source_id,
            **values,
        }
        insert = _INSERTS["postgresql" if connection.dialect.name == "postgresql" else "sqlite"]
        inserted = connection.execute(insert, row).scalar_one_or_none()
        if inserted is not None:
            _add_labels(connection, inserted, parsed.labels)
            return Saved(inserted, "added")
        # Another worker stored the same key between our read and our insert.
        existing = connection.execute(_BY_KEY, {"key": key}).one()
    article_id = existing.id
    changed = any(getattr(existing, name) != values[name] for name in _COMPARED)
    labels_changed = _label_ids(parsed.labels) != _stored_label_ids(connection, article_id)
    if not changed and not labels_changed:
        return Saved(article_id, "unchanged")
    connection.execute(
        _UPDATE,
        {
            "article_id": article_id,
            "updated_at": now,
            "source_id": source_id or existing.source_id,
            **values,
        },
    )
    connection.execute(_DELETE_LABELS, {"article_id": article_id})
    _add_labels(connection, article_id, parsed.labels)
    return Saved(article_id, "updated")


# Batch statements: one look-up of a whole batch by key, by content and for its labels.
_BY_KEYS = select(articles).where(articles.c.canonical_url.in_(bindparam("keys", expanding=True)))
_BY_HASHES = select(articles).where(
    articles.c.content_hash.in_(bindparam("digests", expanding=True))
)
_LABELS_OF = select(article_topics.c.article_id, article_topics.c.topic_id).where(
    article_topics.c.article_id.in_(bindparam("ids", expanding=True)),
    article_topics.c.origin == "source",
)
# Sorted, so two workers locking overlapping batches take the locks in the same order.
_CONTENT_LOCKS = text(
    "SELECT count(pg_advisory_xact_lock(hashtextextended(d, 0)))"
    " FROM (SELECT unnest(CAST(:digests AS text[])) AS d ORDER BY 1) AS sorted"
)


@dataclass(slots=True)
class _Prepared:
    """One article of a batch, cleaned and hashed once."""

    parsed: ParsedArticle
    key: str
    digest: str
    values: dict[str, Any]
    substantial: bool


@dataclass(slots=True)
class _Run:
    """The writes a run of a batch has decided and not yet sent."""

    inserts: list[int] = field(default_factory=list)  # batch positions, in order
    updates: list[tuple[int, Any]] = field(default_factory=list)  # (position, stored row)
    new_keys: set[str] = field(default_factory=set)
    new_digests: set[str] = field(default_factory=set)
    dirty: set[int] = field(default_factory=set)  # ids of rows with an update pending


def save_many(
    connection: Connection,
    batch: Sequence[tuple[ParsedArticle, str]],
    *,
    kind: str,
    now: datetime,
    source_id: int | None = None,
) -> list[Saved]:
    """:func:`save` for each ``(article, key)`` in order, in a few statements per batch.

    The outcome is the one :func:`save` one at a time would give: each article is compared
    with the stored rows as they stand after the articles before it. The batch's rows are
    read in three queries (by key, by content, their labels) and the decided writes go out
    as multi-row statements. When an article meets a row the same batch is still about to
    write (a duplicate within the input), those writes are sent and the rest of the batch
    is read afresh, so every comparison is against a stored row.
    """
    prepared = []
    for parsed, key in batch:
        parsed = clean_article(parsed)
        digest = content_hash(parsed.title, parsed.paragraphs)
        prepared.append(
            _Prepared(
                parsed,
                key,
                digest,
                _values(parsed, kind, digest),
                has_substantial_content(parsed.paragraphs),
            )
        )
    saved: list[Saved | None] = [None] * len(prepared)
    start = 0
    while start < len(prepared):
        start = _save_run(connection, prepared, start, saved, now=now, source_id=source_id)
    return [s for s in saved if s is not None]


def _save_run(
    connection: Connection,
    prepared: list[_Prepared],
    start: int,
    saved: list[Saved | None],
    *,
    now: datetime,
    source_id: int | None,
) -> int:
    """Save ``prepared[start:]`` until an article meets a pending write; the next start."""
    rest = prepared[start:]
    by_key = {
        row.canonical_url: row
        for row in connection.execute(_BY_KEYS, {"keys": sorted({p.key for p in rest})})
    }
    digests = sorted({p.digest for p in rest if p.substantial and p.key not in by_key})
    by_id = {row.id: row for row in by_key.values()}
    with_hash: dict[str, set[int]] = {}
    if digests:
        if connection.dialect.name == "postgresql":
            # See save(): two workers storing the same content under different keys.
            connection.execute(_CONTENT_LOCKS, {"digests": digests})
        for row in connection.execute(_BY_HASHES, {"digests": digests}):
            by_id[row.id] = row
    for row in by_id.values():
        with_hash.setdefault(row.content_hash, set()).add(row.id)
    labels: dict[int, set[str]] = {}
    if by_id:
        for row in connection.execute(_LABELS_OF, {"ids": sorted(by_id)}):
            labels.setdefault(row.article_id, set()).add(row.topic_id)

    run = _Run()
    position = start
    for position in range(start, len(prepared)):
        item = prepared[position]
        if item.key in run.new_keys:
            break
        existing = by_key.get(item.key)
        if existing is None and item.substantial:
            ids = with_hash.get(item.digest)
            if ids:
                existing = by_id[min(ids)]
            elif item.digest in run.new_digests:
                break
        if existing is not None and existing.id in run.dirty:
            break
        if existing is None:
            run.inserts.append(position)
            run.new_keys.add(item.key)
            run.new_digests.add(item.digest)
            continue
        changed = any(getattr(existing, name) != item.values[name] for name in _COMPARED)
        if not changed and _label_ids(item.parsed.labels) == labels.get(existing.id, set()):
            saved[position] = Saved(existing.id, "unchanged")
            continue
        run.updates.append((position, existing))
        run.dirty.add(existing.id)
        with_hash.get(existing.content_hash, set()).discard(existing.id)
        with_hash.setdefault(item.digest, set()).add(existing.id)
        saved[position] = Saved(existing.id, "updated")
    else:
        position = len(prepared)
    _flush(connection, prepared, run, saved, now=now, source_id=source_id)
    return position


def _flush(
    connection: Connection,
    prepared: list[_Prepared],
    run: _Run,
    saved: list[Saved | None],
    *,
    now: datetime,
    source_id: int | None,
) -> None:
    """Send a run's writes: updates, multi-row inserts, then the labels of both."""
    labelled: dict[int, int] = {}  # batch position -> article id
    if run.updates:
        connection.execute(
            _UPDATE,
            [
                {
                    "article_id": existing.id,
                    "updated_at": now,
                    "source_id": source_id or existing.source_id,
                    **prepared[position].values,
                }
                for position, existing in run.updates
            ],
        )
        connection.execute(_DELETE_LABELS, [{"article_id": e.id} for _, e in run.updates])
        labelled.update((position, existing.id) for position, existing in run.updates)
    raced: list[int] = []
    if run.inserts:
        ids = _insert_new(connection, [prepared[p] for p in run.inserts], now, source_id)
        for position in run.inserts:
            article_id = ids.get(prepared[position].key)
            if article_id is None:
                raced.append(position)
            else:
                saved[position] = Saved(article_id, "added")
                labelled[position] = article_id
    _add_labels_many(
        connection,
        [(labelled[p], prepared[p].parsed.labels) for p in sorted(labelled)],
    )
    for position in raced:  # another worker stored the key after our read: as save() does
        item = prepared[position]
        saved[position] = save(
            connection, item.parsed, key=item.key, kind=item.values["kind"], now=now,
            source_id=source_id,
        )  # fmt: skip


def _add_labels_many(connection: Connection, labelled: Sequence[tuple[int, Sequence[str]]]) -> None:
    """:func:`_add_labels` for many articles in two statements (first name of a topic wins,
    as it would one article at a time)."""
    named: dict[str, str] = {}
    links: list[tuple[int, str, str]] = []
    for article_id, labels in labelled:
        seen: set[str] = set()
        for name in labels:
            tid = f"label:{slug(name)}"
            named.setdefault(tid, name)
            if tid not in seen:
                seen.add(tid)
                links.append((article_id, tid, "source"))
    topic_rows = [(tid, name, "label") for tid, name in named.items()]
    _insert_ignore(connection, "topics", ("id", "name", "kind"), topic_rows)
    _insert_ignore(connection, "article_topics", ("article_id", "topic_id", "origin"), links)


# -- the hot inserts of a bulk ingest ------------------------------------------------------
# Sent below SQLAlchemy's statement layer: its per-row parameter handling cost more than
# SQLite's own work, and on PostgreSQL a multi-row VALUES list is a new query text for the
# driver to parse every time. Both backends still answer with the ids, matched back by key,
# so a row another worker stored first (skipped by the conflict clause) is simply missing.

# A new row's columns, in the order the inserts send them.
_NEW_ROW = (
    "canonical_url", "fetched_at", "updated_at", "source_id", "url", "external_id",
    "content_hash", "kind", "title", "key_points", "paragraphs", "byline", "published_at",
    "language", "source_name", "image_url", "image_caption", "image_credit", "media", "raw",
)  # fmt: skip
_INSERT_NEW = (
    f"INSERT INTO articles ({', '.join(_NEW_ROW)}) VALUES {{rows}}"
    " ON CONFLICT (canonical_url) DO NOTHING RETURNING id, canonical_url"
)
_SQLITE_VARIABLES = 999  # the smallest limit any SQLite build has
# Rows per multi-row insert where the build allows more variables: the full-text index
# (revision 0010) writes what it gathered at the end of every statement, so a few large
# statements index twice as fast as many small ones.
_SQLITE_ROWS = 500


def _sqlite_rows(connection: Connection) -> int:
    """How many rows one insert may carry: as many as :data:`_SQLITE_ROWS` when this build's
    variable limit allows (3.32 and later: 32,766 or more), else what 999 variables hold."""
    raw = connection.connection.driver_connection
    try:
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
    except AttributeError:  # Python before 3.11
        limit = _SQLITE_VARIABLES
    return max(1, min(_SQLITE_ROWS, limit // len(_NEW_ROW)))


@cache
def _sqlite_insert(rows: int) -> str:
    """INSERT of ``rows`` new articles in one statement, answering with their ids."""
    marks = "(" + ", ".join("?" * len(_NEW_ROW)) + ")"
    return _INSERT_NEW.format(rows=", ".join([marks] * rows))


# PostgreSQL takes one row per statement, pipelined by the driver: the query text stays the
# same, so it is parsed and planned once.
_POSTGRES_INSERT = _INSERT_NEW.format(rows="(" + ", ".join(["%s"] * len(_NEW_ROW)) + ")")


def _json(value: Any) -> str:
    """A JSON column's text (read back by json.loads like any other row's)."""
    return orjson.dumps(value).decode()


def _stamps(connection: Connection) -> Callable[[datetime | None], Any]:
    """The datetime columns' own conversion (to UTC, and on SQLite to the text SQLAlchemy
    stores), so rows written here read back exactly as rows SQLAlchemy wrote."""
    dialect = connection.dialect
    convert = articles.c.published_at.type.dialect_impl(dialect).bind_processor(dialect)
    return convert or (lambda value: value)


def _insert_new(
    connection: Connection, new: list[_Prepared], now: datetime, source_id: int | None
) -> dict[str, int]:
    """Insert these articles (skipping keys stored meanwhile); the id of each inserted key."""
    convert = _stamps(connection)
    stamps: dict[datetime | None, Any] = {None: None}  # a bulk file has few distinct times
    fetched = convert(now)
    rows = []
    for item in new:
        values = item.values
        published = values["published_at"]
        if published not in stamps:
            stamps[published] = convert(published)
        rows.append(
            (
                item.key, fetched, fetched, source_id, values["url"], values["external_id"],
                item.digest, values["kind"], values["title"], _json(values["key_points"]),
                _json(values["paragraphs"]), values["byline"], stamps[published],
                values["language"], values["source_name"], values["image_url"],
                values["image_caption"], values["image_credit"], _json(values["media"]),
                values["raw"],
            )
        )  # fmt: skip
    ids: dict[str, int] = {}
    if connection.dialect.name == "postgresql":
        with connection.connection.cursor() as cursor:
            cursor.executemany(_POSTGRES_INSERT, rows, returning=True)
            while True:
                ids.update((key, article_id) for article_id, key in cursor.fetchall())
                if not cursor.nextset():
                    break
        return ids
    per = _sqlite_rows(connection)
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        result = connection.exec_driver_sql(_sqlite_insert(len(chunk)), tuple(chain(*chunk)))
        ids.update((key, article_id) for article_id, key in result)
    return ids


def _insert_ignore(
    connection: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING of many rows, as one driver-level executemany."""
    if rows:
        mark = "%s" if connection.dialect.name == "postgresql" else "?"
        marks = ", ".join([mark] * len(columns))
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING",
            rows,
        )


def _label_ids(labels: Sequence[str]) -> set[str]:
    return {f"label:{slug(name)}" for name in labels}


def _stored_label_ids(connection: Connection, article_id: int) -> set[str]:
    rows = connection.execute(
        select(article_topics.c.topic_id).where(
            article_topics.c.article_id == article_id, article_topics.c.origin == "source"
        )
    )
    return {row.topic_id for row in rows}


_DELETE_LABELS = delete(article_topics).where(
    article_topics.c.article_id == bindparam("article_id"), article_topics.c.origin == "source"
)


def _add_labels(connection: Connection, article_id: int, labels: Sequence[str]) -> None:
    """Attach the source-given topic labels to an article (creating the topics)."""
    named: dict[str, str] = {}
    for name in labels:
        named.setdefault(f"label:{slug(name)}", name)
    upsert_ignore(
        connection,
        topics,
        [{"id": tid, "name": name, "kind": "label"} for tid, name in named.items()],
    )
    upsert_ignore(
        connection,
        article_topics,
        [{"article_id": article_id, "topic_id": tid, "origin": "source"} for tid in named],
    )


def _to_article(row: Any, topic_rows: Sequence[Any]) -> Article:
    # URLs are checked again on the way out: rows stored before the http(s) rule may hold a
    # ``javascript:`` link, and a check costs nothing beside the query.
    image = None
    if row.image_url or row.image_caption or row.image_credit:
        image = Image(
            url=safe_url(row.image_url), caption=row.image_caption, credit=row.image_credit
        )
    given = list(row.key_points or [])
    extracted = list(row.extracted_key_points or []) if not given else []
    by_origin: dict[str, list[Topic]] = {"source": [], "section": [], "entity": []}
    for t in topic_rows:
        by_origin.setdefault(t.origin, []).append(Topic(id=t.id, name=t.name, kind=t.kind))
    return Article(
        id=row.id,
        canonical_url=row.canonical_url,
        url=safe_url(row.url),
        content_hash=row.content_hash,
        title=row.title,
        key_points=given or extracted,
        key_points_extracted=bool(extracted),
        paragraphs=list(row.paragraphs or []),
        byline=row.byline,
        published=row.published_at,
        fetched=row.fetched_at,
        language=row.language,
        source=row.source_name,
        image=image,
        media=[
            Media(
                kind=m.get("kind") or "video",
                title=m.get("title"),
                duration_seconds=m.get("duration_seconds"),
                url=safe_url(m.get("url")),
            )
            for m in row.media or []
        ],
        # Labels the source gave, then the section, then entities (most mentioned first).
        topics=[*by_origin["source"], *by_origin["section"], *by_origin["entity"]],
        kind=row.kind,
        external_id=row.external_id,
        entities=by_origin["entity"],
        section=by_origin["section"][0] if by_origin["section"] else None,
        story_id=row.story_id,
    )


def _topics_of(connection: Connection, ids: Sequence[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = connection.execute(
        select(
            article_topics.c.article_id,
            article_topics.c.origin,
            topics.c.id,
            topics.c.name,
            topics.c.kind,
        )
        .join(topics, topics.c.id == article_topics.c.topic_id)
        .where(article_topics.c.article_id.in_(ids))
        .order_by(article_topics.c.article_id, article_topics.c.weight.desc(), topics.c.name)
    )
    for row in rows:
        found[row.article_id].append(row)
    return found


def get(connection: Connection, article_id: int) -> Article:
    row = connection.execute(select(articles).where(articles.c.id == article_id)).one_or_none()
    if row is None:
        raise NotFound(f"no article with id {article_id}")
    return _to_article(row, _topics_of(connection, [article_id])[article_id])


def get_many(connection: Connection, ids: Sequence[int]) -> dict[int, Article]:
    """The articles with these ids (unknown ids are left out), without their raw payloads."""
    ids = list(ids)
    if not ids:
        return {}
    columns = [c for c in articles.c if c.name != "raw"]
    rows = connection.execute(select(*columns).where(articles.c.id.in_(ids))).all()
    by_id = _topics_of(connection, [r.id for r in rows])
    return {r.id: _to_article(r, by_id[r.id]) for r in rows}


def list_recent(
    connection: Connection, *, limit: int = 20, offset: int = 0, source: str | None = None
) -> list[Article]:
    """Newest first (by published time, then by id), optionally from one source."""
    query = select(articles)
    if source:
        query = query.where(articles.c.source_name == source)
    query = (
        query.order_by(articles.c.published_at.desc().nulls_last(), articles.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = connection.execute(query).all()
    by_id = _topics_of(connection, [r.id for r in rows])
    return [_to_article(r, by_id[r.id]) for r in rows]


def count(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(articles)).scalar_one()


def raw_payload(connection: Connection, article_id: int) -> str:
    """The payload an article was parsed from, for re-processing."""
    raw = connection.execute(
        select(articles.c.raw).where(articles.c.id == article_id)
    ).scalar_one_or_none()
    if raw is None:
        raise NotFound(f"no article with id {article_id}")
    return raw


__all__ = [
    "Saved", "count", "get", "get_many", "list_recent", "raw_payload", "save", "save_many",
]  # fmt: skip
