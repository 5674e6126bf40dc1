"""Full-text matching in the store: SQLite FTS5 (``article_search``) or PostgreSQL
``tsvector`` (``articles.search_vector``), both made by revision 0010 and kept by the
database. Every term reaches the engine as a quoted string or a bound parameter, so what a
reader types is never parsed as the engine's own query syntax."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from tidings.ingest.identity import slug
from tidings.search.query import Query

TOPIC_KINDS = ("label", "entity", "section")
_NEWS_TIME = "coalesce(a.published_at, a.fetched_at)"
RANKED = 1_000  # PostgreSQL: the newest matches of a query that ts_rank orders


def matches(
    connection: Connection,
    query: Query,
    *,
    limit: int,
    at_least: int | None = None,
    since: datetime | None = None,
    newest: bool = False,
) -> list[tuple[int, float]]:
    """Articles whose text holds ``at_least`` of the query's words (all when None) and its
    phrases, none of its exclusions, and pass its filters: (article id, relevance) best
    first (titles weigh most), or the newest first (``newest``; relevance then 0)."""
    if not query.looks_for_text:
        return []
    groups = _word_groups(query.words, at_least)
    params: dict[str, Any] = {"limit": limit}
    where = _filters(query, params, since, sqlite=connection.dialect.name == "sqlite")
    if connection.dialect.name == "sqlite":
        params["match"] = _fts_match(query, groups)
        sql = (
            f"SELECT s.rowid, {'0' if newest else '-s.rank'} FROM article_search s"
            + (" JOIN articles a ON a.id = s.rowid" if where or newest else "")
            + " WHERE article_search MATCH :match"
            + "".join(f" AND {w}" for w in where)
            + (f" ORDER BY {_NEWS_TIME} DESC, a.id DESC" if newest else " ORDER BY s.rank")
            + " LIMIT :limit"
        )
    else:
        q = _tsquery(query, params, groups)
        matching = f"FROM articles a, ({q}) AS t(q) WHERE a.search_vector @@ q" + "".join(
            f" AND {w}" for w in where
        )
        if newest:
            sql = f"SELECT a.id {matching} ORDER BY {_NEWS_TIME} DESC, a.id DESC LIMIT :limit"
        else:
            # ts_rank reads each match's stored vector (out of line, from TOAST): a common
            # word matching thousands of articles is ranked among its newest RANKED only.
            params["ranked"] = RANKED
            sql = (
                f"SELECT m.id, ts_rank(m.search_vector, m.q, 1) AS score FROM"
                f" (SELECT a.id, a.search_vector, q {matching} ORDER BY a.id DESC LIMIT :ranked)"
                " m ORDER BY score DESC, m.id DESC LIMIT :limit"
            )
    rows = connection.execute(text(sql), params)
    return [(int(r[0]), 0.0 if newest else float(r[1])) for r in rows]


def allowed(
    connection: Connection, query: Query, ids: Sequence[int], *, since: datetime | None = None
) -> set[int]:
    """Which of ``ids`` pass the query's filters, contain its phrases and none of its
    excluded words (what a match by meaning must also do)."""
    if not ids:
        return set()
    params: dict[str, Any] = {f"i{n}": i for n, i in enumerate(ids)}
    where = [f"a.id IN ({', '.join(f':i{n}' for n in range(len(ids)))})"]
    where += _filters(query, params, since, sqlite=connection.dialect.name == "sqlite")
    sqlite = connection.dialect.name == "sqlite"
    for name, terms, negated in (("ph", query.phrases, False), ("ex", query.excluded, True)):
        if not terms:
            continue
        if sqlite:
            params[name] = (" AND " if not negated else " OR ").join(_string(t) for t in terms)
            clause = (
                f"a.id IN (SELECT rowid FROM article_search WHERE article_search MATCH :{name})"
            )
        else:
            parts = []
            for n, words in enumerate(terms):
                params[f"{name}{n}"] = " ".join(words)
                parts.append(f"phraseto_tsquery('tidings_search', :{name}{n})")
            clause = f"a.search_vector @@ ({(' || ' if negated else ' && ').join(parts)})"
        where.append(f"NOT ({clause})" if negated else clause)
    sql = "SELECT a.id FROM articles a WHERE " + " AND ".join(where)
    return {int(i) for (i,) in connection.execute(text(sql), params)}


def newest(
    connection: Connection, query: Query, *, limit: int, since: datetime | None = None
) -> list[int]:
    """The newest articles passing the query's filters (a query of filters alone)."""
    params: dict[str, Any] = {"limit": limit}
    where = _filters(query, params, since, sqlite=connection.dialect.name == "sqlite")
    sql = (
        "SELECT a.id FROM articles a"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {_NEWS_TIME} DESC, a.id DESC LIMIT :limit"
    )
    rows = [int(i) for (i,) in connection.execute(text(sql), params)]
    return (
        sorted(set(rows) & allowed(connection, query, rows), key=rows.index)
        if (query.excluded or query.phrases)
        else rows
    )


def _filters(
    query: Query, params: dict[str, Any], since: datetime | None, *, sqlite: bool
) -> list[str]:
    """SQL conditions on ``articles a`` for the query's filters (parameters into ``params``)."""
    where: list[str] = []
    if query.sources:
        names = []
        for n, value in enumerate(query.sources):
            params[f"src{n}"] = "%" + _like(value.casefold() if sqlite else value.lower()) + "%"
            fold = "tidings_fold" if sqlite else "lower"
            names.append(f"{fold}(a.source_name) LIKE :src{n} ESCAPE '\\'")
        where.append("(" + " OR ".join(names) + ")")
    for name, values, kinds in (
        ("top", query.topics, TOPIC_KINDS),
        ("sec", query.sections, ("section",)),
    ):
        for n, value in enumerate(values):  # every topic named must be there
            keys = [f"{kind}:{slug(value)}" for kind in kinds]
            marks = []
            for k, key in enumerate(keys):
                params[f"{name}{n}_{k}"] = key
                marks.append(f":{name}{n}_{k}")
            where.append(
                "EXISTS (SELECT 1 FROM article_topics t WHERE t.article_id = a.id"
                f" AND t.topic_id IN ({', '.join(marks)}))"
            )
    when = _NEWS_TIME
    for name, moment, op in (
        ("after", query.after, ">="),
        ("before", query.before, "<"),
        ("since", since, ">="),
    ):
        if moment is not None:
            params[name] = _stamp(moment, sqlite)
            where.append(f"{when} {op} :{name}")
    return where


def _stamp(moment: datetime, sqlite: bool) -> Any:
    """A moment as the store keeps it: on SQLite, UTC text as SQLAlchemy writes it."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string(words: Sequence[str]) -> str:
    """Words as one FTS5 string (a phrase when several): quoted, quotes doubled."""
    return '"' + " ".join(words).replace('"', '""') + '"'


def _word_groups(words: Sequence[str], at_least: int | None) -> list[tuple[str, ...]]:
    """``at_least`` of ``words`` as alternatives of word groups each fully required: all
    of them is one group, any one is each word alone, and between, every combination."""
    size = len(words) if at_least is None else max(1, min(at_least, len(words)))
    return list(itertools.combinations(words, size)) if words else []


def _fts_match(query: Query, groups: Sequence[Sequence[str]]) -> str:
    """The FTS5 expression: (one of the word groups) AND each phrase, NOT the excluded."""
    parts = []
    if groups:
        either = [" AND ".join(_string([w]) for w in group) for group in groups]
        parts.append("(" + " OR ".join(f"({e})" for e in either) + ")")
    parts += [_string(p) for p in query.phrases]
    expression = " AND ".join(parts)
    if query.excluded:
        expression = f"({expression}) NOT ({' OR '.join(_string(e) for e in query.excluded)})"
    return expression


def _tsquery(query: Query, params: dict[str, Any], groups: Sequence[Sequence[str]]) -> str:
    """A SELECT of one tsquery built from bound words (plainto/phraseto never fail)."""
    marks = {}
    for n, word in enumerate(query.words):
        params[f"w{n}"] = word
        marks[word] = f"plainto_tsquery('tidings_search', :w{n})"
    either = [" && ".join(marks[w] for w in group) for group in groups]
    parts = ["(" + " || ".join(f"({e})" for e in either) + ")"] if either else []
    for n, phrase in enumerate(query.phrases):
        params[f"p{n}"] = " ".join(phrase)
        parts.append(f"phraseto_tsquery('tidings_search', :p{n})")
    for n, excluded in enumerate(query.excluded):
        params[f"x{n}"] = " ".join(excluded)
        parts.append(f"!! phraseto_tsquery('tidings_search', :x{n})")
    return "SELECT " + " && ".join(parts)
