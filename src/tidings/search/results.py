"""What a search answers: one row per story, with the article shown, a snippet with the
matched words marked, and the reason it is there."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tidings.models import Article
from tidings.rank.reasons import Reason


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One story found (or one article not yet grouped into a story: ``story_id`` None).
    ``article`` is the story's article that matched best; ``highlights`` are ``[start,
    end)`` offsets of the matched words in ``snippet``."""

    rank: int
    story_id: int | None
    headline: str
    article: Article
    outlets: int
    articles: int
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    matched: frozenset[str]  # "words", "meaning"
    reason: Reason

    def to_dict(self) -> dict[str, Any]:
        """The article as ``articles show --json`` gives it, plus the search's fields."""
        return {
            **self.article.to_dict(),
            "rank": self.rank,
            "score": round(self.score, 6),
            "story_id": self.story_id,
            "headline": self.headline,
            "outlets": self.outlets,
            "articles": self.articles,
            "snippet": self.snippet,
            "highlights": [list(h) for h in self.highlights],
            "matched": sorted(self.matched),
            "reason": {"code": self.reason.code, "text": self.reason.text},
        }


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str  # as understood: normalised, what a saved search stores
    hits: list[SearchHit] = field(default_factory=list)
    next_cursor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "hits": [h.to_dict() for h in self.hits],
            "next_cursor": self.next_cursor,
        }


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """A search a reader follows: its new matches enter their feed, and it has an Atom feed
    of its own."""

    id: str
    query: str
    since: datetime

    @staticmethod
    def id_of(query: str) -> str:
        """A saved search's id: stable, short, and the same for every reader."""
        return hashlib.sha256(query.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "query": self.query, "since": self.since.isoformat()}
