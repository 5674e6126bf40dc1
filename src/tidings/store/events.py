"""The append-only event log: reading it back per reader, and counting popularity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from tidings.rank.signals import CLICKS, READING_KINDS, STATE_KINDS, Event, Kind
from tidings.store.schema import events

HISTORY_LIMIT = 200  # newest opens / dwells / shares / "fewer like this" read per reader


def append(connection: Connection, reader_id: int, rows: Sequence[Event]) -> None:
    append_many(connection, [(reader_id, e) for e in rows])


COLUMNS = (
    "reader_id",
    "kind",
    "article_id",
    "story_id",
    "target",
    "value",
    "request",
    "created_at",
)
Row = tuple[int, str, int | None, int | None, str | None, float | None, str | None, datetime]


def append_many(connection: Connection, rows: Sequence[tuple[int, Event]]) -> None:
    """Events of any readers, (reader id, event) each, in one statement."""
    append_rows(
        connection,
        [
            (
                reader_id,
                str(e.kind),
                e.article_id,
                e.story_id,
                e.target,
                e.value,
                e.request,
                e.created,
            )
            for reader_id, e in rows
        ],
    )


def append_rows(connection: Connection, rows: Sequence[Row]) -> None:
    """Events as plain rows in :data:`COLUMNS` order, in one statement.

    The driver is handed the tuples as they are: a feed server logs thousands of
    impressions a second, and SQLAlchemy's per-value processing of them cost more than the
    insert itself. Each distinct time is converted once, as its column type would (a page's
    impressions share one)."""
    if not rows:
        return
    dialect = connection.dialect
    to_time = events.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    times: dict[datetime, Any] = {}
    for row in rows:
        if row[7] not in times:
            times[row[7]] = to_time(row[7]) if to_time else row[7]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * len(COLUMNS))})"
    )
    connection.exec_driver_sql(statement, [(*row[:7], times[row[7]]) for row in rows])


def to_event(row: Any) -> Event:
    return Event(
        kind=Kind(row.kind),
        created=row.created_at,
        article_id=row.article_id,
        story_id=row.story_id,
        target=row.target,
        value=row.value,
        request=row.request,
        id=row.id,
    )


def for_reader(connection: Connection, reader_id: int) -> list[Event]:
    """The events that make up a reader's state and profile, oldest first: every follow,
    mute, hide and save (they are few and must never be forgotten), and the newest
    :data:`HISTORY_LIMIT` reading events. Impressions are counted by :func:`seen`."""
    mine = events.c.reader_id == reader_id
    state = select(events).where(mine, events.c.kind.in_([str(k) for k in STATE_KINDS]))
    reading = (
        select(events)
        .where(mine, events.c.kind.in_([str(k) for k in READING_KINDS]))
        .order_by(events.c.id.desc())
        .limit(HISTORY_LIMIT)
    )
    found: list[Event] = []
    for query in (state, reading):
        found.extend(to_event(r) for r in connection.execute(query))
    found.sort(key=lambda e: e.id)
    return found


def seen(
    connection: Connection, reader_id: int, since: datetime, until: datetime | None = None
) -> dict[int, int]:
    """Per story, how often it was shown to this reader since ``since`` (and before
    ``until``, when given)."""
    conditions = [
        events.c.reader_id == reader_id,
        events.c.kind == str(Kind.IMPRESSION),
        events.c.created_at >= since,
        events.c.story_id.is_not(None),
    ]
    if until is not None:
        conditions.append(events.c.created_at < until)
    rows = connection.execute(
        select(events.c.story_id, func.count()).where(*conditions).group_by(events.c.story_id)
    )
    return {story: n for story, n in rows}


_CLICKED = func.sum(case((events.c.kind.in_([str(k) for k in CLICKS]), 1), else_=0))
_SHOWN = func.sum(case((events.c.kind == str(Kind.IMPRESSION), 1), else_=0))


def popularity(connection: Connection, since: datetime) -> dict[int, tuple[int, int]]:
    """Per story, (clicks, impressions) by all readers since ``since``."""
    rows = connection.execute(
        select(events.c.story_id, _CLICKED, _SHOWN)
        .where(events.c.created_at >= since, events.c.story_id.is_not(None))
        .group_by(events.c.story_id)
    )
    return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}


def popularity_by_fold(connection: Connection, folds: int) -> dict[int, dict[int, list[int]]]:
    """fold → story → [clicks, impressions], readers split into folds by ``id % folds``."""
    fold = events.c.reader_id % folds
    rows = connection.execute(
        select(fold, events.c.story_id, _CLICKED, _SHOWN)
        .where(events.c.story_id.is_not(None))
        .group_by(fold, events.c.story_id)
    )
    out: dict[int, dict[int, list[int]]] = {}
    for f, story, clicks, shown in rows:
        out.setdefault(int(f), {})[story] = [int(clicks or 0), int(shown or 0)]
    return out


def newest_requests(connection: Connection, limit: int) -> list[tuple[str, int]]:
    """(request, reader id) of the newest ``limit`` feed requests (impressions shown together)."""
    rows = connection.execute(
        select(events.c.request, events.c.reader_id)
        .where(events.c.kind == str(Kind.IMPRESSION), events.c.request.is_not(None))
        .group_by(events.c.request, events.c.reader_id)
        .order_by(func.max(events.c.id).desc())
        .limit(limit)
    )
    return [(r.request, r.reader_id) for r in rows]


def of_readers(connection: Connection, reader_ids: Sequence[int]) -> dict[int, list[Event]]:
    """Every event of these readers, oldest first, per reader."""
    found: dict[int, list[Event]] = {}
    ids = list(reader_ids)
    for start in range(0, len(ids), 500):
        for row in connection.execute(
            select(events)
            .where(events.c.reader_id.in_(ids[start : start + 500]))
            .order_by(events.c.id)
        ):
            found.setdefault(row.reader_id, []).append(to_event(row))
    return found


def most_followed(connection: Connection, limit: int) -> list[str]:
    """The topic keys followed most often (by follow events): what to keep warm."""
    rows = connection.execute(
        select(events.c.target)
        .where(events.c.kind == str(Kind.FOLLOW), events.c.target.is_not(None))
        .group_by(events.c.target)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [r[0] for r in rows if not r[0].startswith("source:")]
