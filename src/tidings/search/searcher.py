"""Search: full-text and meaning matches fused, grouped into stories, and (for a signed-in
reader) lightly re-ranked for them; and the strict matches a followed search feeds with."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, Engine

from tidings.errors import InputError
from tidings.rank import profile as profiles
from tidings.rank import reasons
from tidings.rank.reasons import Reason
from tidings.search import personal
from tidings.search.meaning import MeaningIndex
from tidings.search.query import Query, parse
from tidings.search.results import SearchHit, SearchPage
from tidings.search.snippets import snippet
from tidings.store import articles as article_store
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store import search_rows, text_search
from tidings.store.readers import Reader
from tidings.understand.embeddings import Embedder, default_embedder

Mode = Literal["fused", "words", "meaning"]

# Articles each ranking offers the fusion, the same for every page of a search: pages
# of one ordering never repeat or skip a story (and past it there is no next page).
DEPTH = 100
MATCHING_DEPTH = 1_000  # closest articles looked at for the strict matches of a saved search
MAX_LIMIT = 100
ANY_WORD_BELOW = 10  # articles with (nearly) all the words, below which any word will do
# Cosines of the query to an article (MiniLM; a few words against a title and lead): below
# the floor an article is no answer at all; from MATCH on it is about what was asked, so a
# followed search takes it and the reason may say "Similar in meaning".
MEANING_FLOOR = 0.25
MATCH_SIMILARITY = 0.5
EMBEDDED_QUERIES = 512  # query embeddings kept (paging, and the same searches again)


class Searcher:
    """Searches one store. Thread-safe; one per process (it holds the meaning index)."""

    def __init__(self, engine: Engine, *, embedder: Embedder | None = None) -> None:
        self.engine = engine
        self.meaning = MeaningIndex(engine)
        self._embedder = embedder
        self._embedded: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tidings-search")

    def invalidate(self) -> None:
        """New articles were stored here: the next search looks for their embeddings."""
        self.meaning.invalidate()

    def close(self) -> None:
        """Let the search under way finish and stop the helper threads."""
        self._threads.shutdown(wait=True)

    def warm(self) -> None:
        """Load the meaning index and the query embedder now (a server, at start), so the
        first search does not wait for them."""
        self.meaning.snapshot()
        self.embed("news")

    def embed(self, words: str) -> np.ndarray:
        with self._lock:
            found = self._embedded.get(words)
            if found is not None:
                self._embedded.move_to_end(words)
                return found
        embedder = self._embedder or default_embedder()
        vector = embedder.embed([words])[0]
        with self._lock:
            self._embedded[words] = vector
            while len(self._embedded) > EMBEDDED_QUERIES:
                self._embedded.popitem(last=False)
        return vector

    # -- articles ---------------------------------------------------------------------------

    def rank_articles(
        self, query: str | Query, *, mode: Mode = "fused", limit: int = DEPTH
    ) -> list[tuple[int, float]]:
        """Article ids best first with their score, by full text (``words``), meaning, or
        both fused: what the evaluation measures, before stories and readers."""
        query = parse(query) if isinstance(query, str) else query
        with self.engine.connect() as connection:
            words, near = self._ranked(connection, query, depth=limit, mode=mode)
        if mode == "words":
            return [(i, 1.0 / (personal.K + n + 1)) for n, i in enumerate(words)][:limit]
        if mode == "meaning":
            return near[:limit]
        fused = personal.fuse(words, [i for i, _ in near])
        return sorted(fused.items(), key=lambda item: (-item[1], -item[0]))[:limit]

    def _ranked(
        self,
        connection: Connection,
        query: Query,
        *,
        depth: int,
        mode: Mode = "fused",
        since: datetime | None = None,
    ) -> tuple[list[int], list[tuple[int, float]]]:
        """The full-text ranking (articles with more of the words first) and the meaning
        ranking ((id, cosine), above :data:`MEANING_FLOOR`)."""
        words: list[int] = []
        near: list[tuple[int, float]] = []
        if not query.looks_for_text:
            return words, near
        # The meaning side (embedding, one product of the matrix) runs beside the full-text
        # query: both leave the GIL, so a search takes the longer of the two, not the sum.
        meaning = (
            self._threads.submit(self._closest, query, depth, MEANING_FLOOR, since)
            if mode != "words" and query.meaning
            else None
        )
        if mode != "meaning":
            words = self._words(connection, query, depth, since)
        if meaning is not None:
            near = self._allowed(connection, query, meaning.result(), since)
        return words, near

    @staticmethod
    def _words(
        connection: Connection, query: Query, depth: int, since: datetime | None
    ) -> list[int]:
        """The full-text ranking in tiers: articles with every word, then (for 3–6 words)
        with all but one, each tier by relevance; then, while fewer than
        :data:`ANY_WORD_BELOW` were found, with any. Asking for any word first would rank
        every article holding a common one (10–40 ms on 100k articles, against 1–4)."""
        count = len(query.words)
        tiers = [count]
        if 3 <= count <= 6:
            tiers.append(count - 1)
        found: dict[int, None] = {}
        for at_least in tiers:
            if len(found) >= depth:
                break
            hits = text_search.matches(
                connection, query, limit=depth, at_least=at_least, since=since
            )
            found.update((i, None) for i, _ in hits)
        if count > 1 and len(found) < ANY_WORD_BELOW:
            hits = text_search.matches(connection, query, limit=depth, at_least=1, since=since)
            found.update((i, None) for i, _ in hits)
        return list(found)[:depth]

    def _near(
        self,
        connection: Connection,
        query: Query,
        depth: int,
        floor: float,
        since: datetime | None,
    ) -> list[tuple[int, float]]:
        """Articles close in meaning to the query, (id, cosine) best first, that pass its
        phrases, exclusions and filters."""
        near = self._closest(query, depth, floor, since)
        return self._allowed(connection, query, near, since)

    def _closest(
        self, query: Query, depth: int, floor: float, since: datetime | None
    ) -> list[tuple[int, float]]:
        vector = self.embed(query.meaning)
        near = self.meaning.snapshot().nearest(
            vector, depth, since=since.timestamp() if since else None
        )
        return [(i, s) for i, s in near if s >= floor]

    @staticmethod
    def _allowed(
        connection: Connection,
        query: Query,
        near: list[tuple[int, float]],
        since: datetime | None,
    ) -> list[tuple[int, float]]:
        if near and query.narrows:
            ok = text_search.allowed(connection, query, [i for i, _ in near], since=since)
            near = [(i, s) for i, s in near if i in ok]
        return near

    # -- stories ----------------------------------------------------------------------------

    def search(
        self,
        query: str | Query,
        *,
        reader: Reader | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> SearchPage:
        """A page of stories matching ``query``, best first (for ``reader``, re-ranked
        lightly for them). :class:`~tidings.errors.BadQuery` for a query that cannot run,
        :class:`~tidings.errors.InputError` for a cursor of another search."""
        query = parse(query) if isinstance(query, str) else query
        limit = max(1, min(limit, MAX_LIMIT))
        offset = _offset(cursor, _digest(query, reader))
        depth = DEPTH
        with self.engine.connect() as connection:
            if query.looks_for_text:
                words, near = self._ranked(connection, query, depth=depth)
                fused = personal.fuse(words, [i for i, _ in near])
            else:
                words, near = [], []
                fused = personal.fuse(text_search.newest(connection, query, limit=depth))
            info = search_rows.article_rows(connection, list(fused))
            rows = _stories(fused, info)
            best = _key(words[0], info) if words and words[0] in info else None
            followed: frozenset[str] = frozenset()
            if reader is not None and rows:
                followed, affinity = _reader(connection, reader)
                topics = search_rows.topic_keys(connection, [r.article_id for r in rows])
                rows = personal.personalise(
                    rows,
                    followed=followed,
                    source_affinity=affinity,
                    topics=topics,
                    best_textual=best,
                )
            shown = rows[offset : offset + limit]
            by_words, by_meaning = set(words), dict(near)
            matched = {
                r.article_id: frozenset(
                    how
                    for how, found in (
                        ("words", r.article_id in by_words),
                        ("meaning", r.article_id in by_meaning),
                    )
                    if found
                )
                for r in shown
            }
            hits = self._hits(connection, query, shown, offset, matched, by_meaning)
        more = offset + limit < len(rows)
        next_cursor = _cursor(offset + limit, _digest(query, reader)) if more else None
        return SearchPage(query=query.text, hits=hits, next_cursor=next_cursor)

    def matching_stories(
        self, query: str | Query, *, since: datetime | None = None, limit: int = 200
    ) -> list[int]:
        """Stories with an article that matches ``query`` strictly — every word, phrase and
        filter, or close in meaning (:data:`MATCH_SIMILARITY`) — newest first."""
        query = parse(query) if isinstance(query, str) else query
        with self.engine.connect() as connection:
            ids = self._matching(connection, query, since, limit)
            info = search_rows.article_rows(connection, ids)
        order = sorted(info.items(), key=lambda item: item[1][1], reverse=True)
        return list(dict.fromkeys(s for _, (s, *_) in order if s is not None))[:limit]

    def newest(self, query: str | Query, *, limit: int = 30) -> SearchPage:
        """The newest stories matching ``query`` strictly (a followed search's Atom feed)."""
        query = parse(query) if isinstance(query, str) else query
        with self.engine.connect() as connection:
            ids = self._matching(connection, query, None, 4 * limit)
            info = search_rows.article_rows(connection, ids)
            newest_first = sorted(info, key=lambda i: info[i][1], reverse=True)
            fused = {i: 1.0 / (personal.K + n + 1) for n, i in enumerate(newest_first)}
            rows = sorted(_stories(fused, info), key=lambda r: -r.score)[:limit]
            reason = reasons.matches_search(query.text)
            hits = self._hits(connection, query, rows, 0, {}, {}, reason=reason)
        return SearchPage(query=query.text, hits=hits)

    def _matching(
        self, connection: Connection, query: Query, since: datetime | None, limit: int
    ) -> list[int]:
        """The newest ``limit`` articles with every word, phrase and filter of ``query``,
        and those close in meaning among the :data:`MATCHING_DEPTH` closest."""
        if not query.looks_for_text:
            return text_search.newest(connection, query, limit=limit, since=since)
        words = text_search.matches(connection, query, limit=limit, since=since, newest=True)
        near = (
            self._near(connection, query, MATCHING_DEPTH, MATCH_SIMILARITY, since)
            if query.meaning
            else []
        )
        return list(dict.fromkeys([*(i for i, _ in words), *(i for i, _ in near)]))

    def _hits(
        self,
        connection: Connection,
        query: Query,
        rows: Sequence[personal.Row],
        offset: int,
        matched: dict[int, frozenset[str]],
        near: dict[int, float],
        *,
        reason: Reason | None = None,
    ) -> list[SearchHit]:
        articles = article_store.get_many(connection, [r.article_id for r in rows])
        story_ids = [r.key[0] for r in rows if r.key[0]]
        stories = search_rows.story_rows(connection, story_ids)
        names = candidate_store.topic_names(connection, [r.followed for r in rows if r.followed])
        hits = []
        for n, row in enumerate(rows):
            article = articles.get(row.article_id)
            if article is None:  # deleted since it matched
                continue
            story_id = row.key[0] or None
            headline, outlets, count = stories.get(story_id or 0, (article.title, 1, 1))
            how = matched.get(row.article_id, frozenset())
            passages = [*article.key_points, *article.paragraphs] or [article.title]
            text_, marks = snippet(passages, query.terms)
            hits.append(
                SearchHit(
                    rank=offset + n + 1,
                    story_id=story_id,
                    headline=headline,
                    article=article,
                    outlets=outlets,
                    articles=count,
                    score=row.score,
                    snippet=text_,
                    highlights=marks,
                    matched=how,
                    reason=reason or _reason(row, how, names, near.get(row.article_id)),
                )
            )
        return hits


def _reason(
    row: personal.Row, how: frozenset[str], names: dict[str, str], cosine: float | None
) -> Reason:
    if row.followed:
        return Reason("followed", f"You follow {names.get(row.followed, row.followed)}")
    if "words" in how:
        return Reason("words", "Matches your words")
    if "meaning" in how and cosine is not None and cosine >= MATCH_SIMILARITY:
        return Reason("meaning", "Similar in meaning")
    if "meaning" in how:
        return Reason("meaning", "Related in meaning")
    return Reason("filters", "Newest that your filters let through")


def _key(
    article_id: int, info: dict[int, tuple[int | None, datetime, str | None]]
) -> tuple[int, int]:
    story = info[article_id][0]
    return (story, 0) if story is not None else (0, article_id)


def _stories(
    fused: dict[int, float], info: dict[int, tuple[int | None, datetime, str | None]]
) -> list[personal.Row]:
    """One row per story (its best-scoring article), best first; newer first on ties."""
    best: dict[tuple[int, int], personal.Row] = {}
    for article_id, score in fused.items():
        if article_id not in info:
            continue
        key = _key(article_id, info)
        row = best.get(key)
        if row is None or score > row.score:
            best[key] = personal.Row(key, article_id, score, source=info[article_id][2])
    return sorted(best.values(), key=lambda r: (-r.score, -info[r.article_id][1].timestamp()))


def _reader(connection: Connection, reader: Reader) -> tuple[frozenset[str], dict[str, float]]:
    """What the re-rank needs of a reader: the topics they follow and how much of their
    reading each source has had."""
    state = profiles.fold(event_store.for_reader(connection, reader.id))
    read = candidate_store.read_articles(connection, profiles.history_ids(state))
    shaped = profiles.of_read(state, read, now=datetime.now(UTC))
    followed = frozenset(k for k in state.followed if not k.startswith(("source:", "search:")))
    return followed, dict(shaped.source_affinity)


def _digest(query: Query, reader: Reader | None) -> str:
    who = str(reader.id) if reader is not None else ""
    return hashlib.blake2b(f"{who}\n{query.text}".encode(), digest_size=6).hexdigest()


def _cursor(offset: int, digest: str) -> str:
    raw = json.dumps({"o": offset, "q": digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(cursor: str | None, digest: str) -> int:
    """Where a cursor from :func:`_cursor` points; an error for one of another search."""
    if not cursor:
        return 0
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, owner = data["o"], str(data["q"])
        if type(offset) is not int:
            raise TypeError(offset)
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise InputError("cursor", "not a cursor this search gave") from None
    if owner != digest or not 0 <= offset <= 2 * DEPTH:
        raise InputError("cursor", "from another search: start again without it")
    return offset
