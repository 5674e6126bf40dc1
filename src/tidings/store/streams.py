"""Item streams as Google Reader apps page them: a reader's subscribed articles (all, of some
sources, starred or read), filtered by time and read state, newest or oldest fetched first,
a page at a time with a continuation that names the last item given.

Time is when tidings fetched the article (Google Reader's crawl time): it is what "mark all
as read" cuts at, and it only grows, so an app asking for what is newer than its last sync
never misses an article published late. Also here: which articles a reader may fetch by id
(:func:`visible`) — their subscriptions' and those the ranked feed has shown them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, not_, or_, select

from tidings.errors import InputError
from tidings.models import Article
from tidings.store import articles as article_store
from tidings.store import read_state
from tidings.store.read_state import ArticleState
from tidings.store.schema import article_states, articles, events, sources, subscriptions
from tidings.store.sources import Source, _to_source

MAX_PAGE = 10_000
_CONTINUATION = re.compile(r"(\d{1,17})-(\d{1,15})")


@dataclass(frozen=True, slots=True)
class Stream:
    """What to list: ``source_ids`` None for all the reader's subscriptions; ``starred`` and
    ``read`` True for those only, False for those not, None for both."""

    source_ids: Sequence[int] | None = None
    starred: bool | None = None
    read: bool | None = None
    newer_than: datetime | None = None  # fetched after (Google Reader ``ot``)
    older_than: datetime | None = None  # fetched before (``nt``)
    oldest_first: bool = False


@dataclass(frozen=True, slots=True)
class Ref:
    """An item as an id list gives it: its id and when it was fetched."""

    id: int
    fetched: datetime


@dataclass(frozen=True, slots=True)
class Item:
    """An article as an app shows it: with its source and the reader's state of it."""

    article: Article
    source: Source
    state: ArticleState


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(when: datetime) -> int:
    """Microseconds since 1970, exactly (no float on the way: a continuation must name the
    very instant stored)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // timedelta(microseconds=1)


def continuation(ref: Ref) -> str:
    """The continuation that pages on after ``ref``."""
    return f"{micros(ref.fetched)}-{ref.id}"


def _after(text: str) -> tuple[datetime, int]:
    found = _CONTINUATION.fullmatch(text.strip())
    if found is None:
        raise InputError("c", f"{text[:40]!r} is not a continuation this server gave")
    try:
        when = _EPOCH + timedelta(microseconds=int(found[1]))
    except OverflowError:
        raise InputError("c", f"{text[:40]!r} is not a continuation this server gave") from None
    return when, int(found[2])


def refs(
    connection: Connection,
    reader_id: int,
    stream: Stream,
    *,
    limit: int,
    after: str | None = None,
) -> tuple[list[Ref], str | None]:
    """Up to ``limit`` items of the stream from ``after`` (a continuation) on, and the
    continuation of the next page (None on the last)."""
    j = read_state._joined(reader_id, articles.c.id, articles.c.fetched_at)
    query = j.query
    if stream.source_ids is None:
        listed = read_state.subscribed_ids(connection, reader_id)
        query = query.where(articles.c.source_id.in_(listed))
    else:
        query = query.where(articles.c.source_id.in_([int(i) for i in stream.source_ids]))
    if stream.starred is not None:
        query = query.where(j.starred if stream.starred else not_(j.starred))
    if stream.read is not None:
        query = query.where(j.read if stream.read else not_(j.read))
    if stream.newer_than is not None:
        query = query.where(articles.c.fetched_at > stream.newer_than)
    if stream.older_than is not None:
        query = query.where(articles.c.fetched_at < stream.older_than)
    if after is not None:
        when, last = _after(after)
        later, earlier = articles.c.fetched_at > when, articles.c.fetched_at < when
        tie = and_(articles.c.fetched_at == when, articles.c.id > last)
        if not stream.oldest_first:
            tie = and_(articles.c.fetched_at == when, articles.c.id < last)
        query = query.where(or_(later if stream.oldest_first else earlier, tie))
    order = (
        (articles.c.fetched_at, articles.c.id)
        if stream.oldest_first
        else (articles.c.fetched_at.desc(), articles.c.id.desc())
    )
    limit = max(1, min(limit, MAX_PAGE))
    rows = connection.execute(query.order_by(*order).limit(limit + 1)).all()
    found = [Ref(r.id, r.fetched_at) for r in rows[:limit]]
    more = len(rows) > limit and found
    return found, continuation(found[-1]) if more else None


def _visible(reader_id: int) -> Any:
    subscribed = select(subscriptions.c.source_id).where(subscriptions.c.reader_id == reader_id)
    shown = select(events.c.story_id).where(
        events.c.reader_id == reader_id, events.c.story_id.is_not(None)
    )
    marked = select(article_states.c.article_id).where(article_states.c.reader_id == reader_id)
    return or_(
        articles.c.source_id.in_(subscribed),
        articles.c.story_id.in_(shown),
        articles.c.id.in_(marked),
    )


def visible(connection: Connection, reader_id: int, article_ids: Sequence[int]) -> list[int]:
    """Those of ``article_ids`` the reader may fetch, in the order given: articles of their
    subscriptions, of stories their feed showed them or they acted on, and those they
    marked. Any other id is as if it did not exist, whoever's it is."""
    wanted = list(dict.fromkeys(int(i) for i in article_ids))
    found: set[int] = set()
    for start in range(0, len(wanted), read_state.CHUNK):
        chunk = wanted[start : start + read_state.CHUNK]
        rows = connection.execute(
            select(articles.c.id).where(articles.c.id.in_(chunk), _visible(reader_id))
        )
        found.update(r.id for r in rows)
    return [i for i in wanted if i in found]


def items(connection: Connection, reader_id: int, article_ids: Sequence[int]) -> list[Item]:
    """The visible ones of ``article_ids`` with their sources and states, in the order
    given (ids the reader may not fetch are left out)."""
    ids = visible(connection, reader_id, article_ids)
    found = article_store.get_many(connection, ids)
    states = read_state.states(connection, reader_id, ids)
    of: dict[int, Source] = {}
    for start in range(0, len(ids), read_state.CHUNK):
        chunk = ids[start : start + read_state.CHUNK]
        rows = connection.execute(
            select(articles.c.id.label("article_id"), sources)
            .join(sources, sources.c.id == articles.c.source_id)
            .where(articles.c.id.in_(chunk))
        )
        of.update({r.article_id: _to_source(r) for r in rows})
    return [Item(found[i], of[i], states[i]) for i in ids if i in found and i in of]
