"""The plain data types every stage passes around.

Parsers produce :class:`ParsedArticle`; the store turns them into :class:`Article`
(with an id, a canonical URL, a content hash and topics). Nothing here talks to a
database or the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Image:
    """The article's lead picture: where it is, what it shows, who took it."""

    url: str | None = None
    caption: str | None = None
    credit: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"url": self.url, "caption": self.caption, "credit": self.credit}


@dataclass(frozen=True, slots=True)
class Media:
    """Related media shown with an article, e.g. an embedded video."""

    kind: str  # "video", "audio" or "image"
    title: str | None = None
    duration_seconds: int | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "duration_seconds": self.duration_seconds,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Topic:
    """Something a reader can follow or mute. ``id`` is stable, e.g. ``label:north-korea``."""

    id: str
    name: str
    kind: str  # "label" (given by the source); later issues add entity and section kinds

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "kind": self.kind}


@dataclass(slots=True)
class ParsedArticle:
    """An article as a parser recovered it from one input, before it is stored."""

    title: str
    url: str | None = None
    external_id: str | None = None  # feed entry id / guid, MIND news id
    key_points: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    byline: str | None = None
    published: datetime | None = None  # timezone-aware
    language: str | None = None
    source: str | None = None  # the outlet's name, e.g. "The Guardian"
    image: Image | None = None
    media: list[Media] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # topic labels given by the source
    raw: str = ""  # the payload this came from, so it can be re-processed later


@dataclass(slots=True)
class Parsed:
    """What one parser made of one input: its articles, and problems it stepped over."""

    articles: list[ParsedArticle]
    warnings: list[str] = field(default_factory=list)
    title: str | None = None  # the feed's or site's own title, when it has one


@dataclass(frozen=True, slots=True)
class Document:
    """One input's bytes and where they came from."""

    name: str  # the path or URL as the user gave it; named in every error
    data: bytes
    url: str | None = None  # the address the bytes came from, for resolving relative links
    content_type: str | None = None  # from HTTP, when fetched


@dataclass(slots=True)
class Article:
    """A stored article."""

    id: int
    canonical_url: str
    url: str | None
    content_hash: str
    title: str
    key_points: list[str]
    paragraphs: list[str]
    byline: str | None
    published: datetime | None
    fetched: datetime
    language: str | None
    source: str | None
    image: Image | None
    media: list[Media]
    topics: list[Topic]
    kind: str
    external_id: str | None = None
    entities: list[Topic] = field(default_factory=list)  # most mentioned first
    section: Topic | None = None
    story_id: int | None = None
    key_points_extracted: bool = False  # key points chosen by tidings, not given by the source

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of `articles show --json`: fields are added, never renamed."""
        return {
            "id": self.id,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "title": self.title,
            "key_points": list(self.key_points),
            "paragraphs": list(self.paragraphs),
            "byline": self.byline,
            "published": self.published.isoformat() if self.published else None,
            "fetched": self.fetched.isoformat(),
            "language": self.language,
            "source": self.source,
            "image": self.image.to_dict() if self.image else None,
            "media": [m.to_dict() for m in self.media],
            "topics": [t.to_dict() for t in self.topics],
            "kind": self.kind,
            "content_hash": self.content_hash,
            "entities": [{"name": e.name, "kind": e.kind, "id": e.id} for e in self.entities],
            "section": self.section.id.removeprefix("section:") if self.section else None,
            "story_id": self.story_id,
            "key_points_extracted": self.key_points_extracted,
        }
