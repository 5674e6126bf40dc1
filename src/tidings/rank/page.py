"""What a feed request answers: a page of items, each with its reason, and what was kept
out. Plain data with its JSON shape; nothing here ranks or reads the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from tidings.models import Article
from tidings.rank import reasons
from tidings.rank.features import topic_key
from tidings.store.readers import Reader


@dataclass(frozen=True, slots=True)
class FeedItem:
    rank: int
    story_id: int
    headline: str
    article: Article  # the story's article that suits this reader best
    outlets: int
    articles: int
    reason: reasons.Reason
    score: float

    @property
    def published(self) -> datetime | None:
        """When the article shown was published; None when its source gave no date (a plain
        page capture, say): such an item is *undated*, never "news of the day it arrived"."""
        return self.article.published

    @property
    def undated(self) -> bool:
        return self.article.published is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "story_id": self.story_id,
            "headline": self.headline,
            "article": self.article.to_dict(),
            "outlets": self.outlets,
            "articles": self.articles,
            "published": self.published.isoformat() if self.published else None,
            "undated": self.undated,
            "reason": self.reason.text,
            "reason_code": self.reason.code,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class Filtered:
    """A story kept out of the feed, and why (so nothing disappears silently)."""

    story_id: int
    headline: str
    reason: str  # hidden | muted | read
    text: str
    since: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "story_id": self.story_id,
            "headline": self.headline,
            "reason": self.reason,
            "text": self.text,
            "since": self.since.isoformat() if self.since else None,
        }


@dataclass(slots=True)
class Encoded:
    """A page's items, with the page's JSON and its digest once made: kept with a ranking
    (whose reader, filtered counts and scorer are fixed), the same page shown again is not
    encoded or hashed again."""

    items: list[FeedItem]
    next_cursor: str | None
    json: bytes | None = None
    digest: str | None = None


@dataclass(slots=True)
class FeedPage:
    reader: Reader
    items: list[FeedItem]
    next_cursor: str | None
    filtered: list[Filtered]
    scorer: str
    request: str | None = None
    followed: frozenset[str] = frozenset()  # the reader's follow keys when it was ranked
    clock: datetime | None = None  # "now" for freshness (see pool.corpus_clock): "3 h ago"
    encoded: Encoded | None = field(default=None, repr=False)

    def follows(self, topic_id: str) -> bool:
        """Whether the reader follows a topic of a card (``label:north-korea``, say), so a
        page offers to unfollow it rather than to follow it again."""
        return topic_key(topic_id) in self.followed

    def to_dict(self) -> dict[str, Any]:
        return {
            "reader": self.reader.name,
            "items": [i.to_dict() for i in self.items],
            "next_cursor": self.next_cursor,
            "filtered": self._filtered_counts(),
            "scorer": self.scorer,
        }

    def json(self) -> bytes:
        """:meth:`to_dict` as JSON (UTF-8), encoded once per kept page."""
        encoded = self._encoded()
        if encoded.json is None:
            encoded.json = orjson.dumps(self.to_dict())
        return encoded.json

    def digest(self) -> str:
        """A digest of :meth:`json`: the same page, the same digest (an HTTP ``ETag``)."""
        encoded = self._encoded()
        if encoded.digest is None:
            encoded.digest = hashlib.blake2b(self.json(), digest_size=12).hexdigest()
        return encoded.digest

    def _encoded(self) -> Encoded:
        if self.encoded is None or self.encoded.items is not self.items:
            self.encoded = Encoded(self.items, self.next_cursor)
        return self.encoded

    def _filtered_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.filtered:
            counts[f.reason] = counts.get(f.reason, 0) + 1
        return counts
