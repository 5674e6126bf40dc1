"""Items as a Fever client pages them: a reader's subscribed articles by id (``since_id``
ascending, ``max_id`` descending, or ``with_ids``), at most a page at a time. Fever clients
sync by id, not by time, so ids are the only order here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from tidings.models import Article
from tidings.store import articles as article_store
from tidings.store import read_state, streams
from tidings.store.read_state import ArticleState
from tidings.store.schema import articles, subscriptions

PAGE = 50


@dataclass(frozen=True, slots=True)
class FeverItem:
    """One subscribed article with its source and the reader's state of it."""

    article: Article
    source_id: int
    state: ArticleState


def _visible(reader_id: int) -> ColumnElement[bool]:
    subscribed = select(subscriptions.c.source_id).where(subscriptions.c.reader_id == reader_id)
    return articles.c.source_id.in_(subscribed)


def items(
    connection: Connection,
    reader_id: int,
    *,
    since_id: int | None = None,
    max_id: int | None = None,
    with_ids: Sequence[int] | None = None,
    limit: int = PAGE,
) -> list[FeverItem]:
    """Up to ``limit`` of the reader's subscribed articles: those of ``with_ids`` (ascending;
    also those of stories their ranked feed showed them), else after ``since_id``
    ascending, else before ``max_id`` descending, else the newest ids descending. Ids of
    other sources are never returned, whoever asks."""
    query = select(articles.c.id, articles.c.source_id)
    if with_ids is not None:
        shown = streams.visible(connection, reader_id, with_ids)
        query = query.where(articles.c.id.in_(shown)).order_by(articles.c.id)
        return _items(connection, reader_id, connection.execute(query.limit(limit)).all())
    query = query.where(_visible(reader_id))
    if since_id is not None:
        query = query.where(articles.c.id > since_id).order_by(articles.c.id)
    elif max_id is not None:
        query = query.where(articles.c.id < max_id).order_by(articles.c.id.desc())
    else:
        query = query.order_by(articles.c.id.desc())
    return _items(connection, reader_id, connection.execute(query.limit(limit)).all())


def _items(connection: Connection, reader_id: int, rows: Sequence[Any]) -> list[FeverItem]:
    ids = [row.id for row in rows]
    found = article_store.get_many(connection, ids)
    states = read_state.states(connection, reader_id, ids)
    return [
        FeverItem(found[row.id], row.source_id, states[row.id]) for row in rows if row.id in found
    ]


def total(connection: Connection, reader_id: int) -> int:
    """How many articles the reader's subscriptions hold."""
    query = select(func.count()).select_from(articles).where(_visible(reader_id))
    return int(connection.execute(query).scalar_one())
