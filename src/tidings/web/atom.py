"""A reader's ranked feed, and a search they follow, as Atom (RFC 4287), readable by
feedparser and any feed reader.

Each entry is one story: its lead article's title, link, time, source and key points, with
the reason it is in the feed as the entry's summary (and, for a search, the passage that
matched). Every text and attribute value passes
through :func:`~tidings.safety.xml_safe` (by :func:`_text` and :func:`_element`), so a
control character in a title, a reader's name or a stored row cannot break the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lxml import etree

from tidings.models import Article
from tidings.rank.feed import FeedPage
from tidings.safety import xml_safe
from tidings.store.readers import Reader

if TYPE_CHECKING:
    from tidings.search import SavedSearch, SearchPage

ATOM = "http://www.w3.org/2005/Atom"
_E = f"{{{ATOM}}}"


def render(page: FeedPage, *, title: str, self_url: str, now: datetime | None = None) -> bytes:
    """The page as a UTF-8 Atom document."""
    feed = _feed(f"urn:tidings:feed:{page.reader.id}", title, self_url, now)
    for item in page.items:
        _entry(feed, item.article, item.story_id, item.outlets, item.reason.text)
    return _document(feed)


def render_search(
    page: SearchPage,
    *,
    reader: Reader,
    saved: SavedSearch,
    title: str,
    self_url: str,
    now: datetime | None = None,
) -> bytes:
    """A followed search's newest matches as a UTF-8 Atom document: an entry per story as
    in :func:`render`, its content also the passage that matched (matched words in bold)."""
    feed = _feed(f"urn:tidings:search:{reader.id}:{saved.id}", title, self_url, now)
    for hit in page.hits:
        passage = f"<p>{_marked(hit.snippet, hit.highlights)}</p>" if hit.snippet else ""
        _entry(feed, hit.article, hit.story_id, hit.outlets, hit.reason.text, passage)
    return _document(feed)


def _feed(feed_id: str, title: str, self_url: str, now: datetime | None) -> etree._Element:
    feed = etree.Element(f"{_E}feed", nsmap={None: ATOM})
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    _text(feed, "updated", (now or datetime.now(UTC)).isoformat())
    _text(feed, "generator", "tidings")
    _element(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    author = _element(feed, "author")
    _text(author, "name", "tidings")
    return feed


def _entry(
    feed: etree._Element,
    article: Article,
    story_id: int | None,
    outlets: int,
    reason: str,
    passage: str = "",
) -> None:
    """One story's entry: its article's title, link, time and source, ``reason`` as the
    summary; the content is the reason, ``passage`` (HTML, escaped already) and the key
    points."""
    entry = _element(feed, "entry")
    _text(entry, "id", article.url or f"urn:tidings:story:{story_id}")
    _text(entry, "title", article.title)
    when = article.published or article.fetched
    _text(entry, "updated", when.isoformat())
    if article.published:
        _text(entry, "published", article.published.isoformat())
    if article.url:
        _element(entry, "link", rel="alternate", href=article.url)
    if article.source:
        source_author = _element(entry, "author")
        _text(source_author, "name", article.source)
    more = f" (+{outlets - 1} outlets)" if outlets > 1 else ""
    _text(entry, "summary", f"{reason}{more}")
    points = "".join(f"<li>{_escape(p)}</li>" for p in article.key_points)
    body = f"<p><em>{_escape(reason)}</em></p>{passage}"
    if points:
        body += f"<ul>{points}</ul>"
    content = _text(entry, "content", body)
    content.set("type", "html")
    for topic in article.topics[:8]:
        _element(entry, "category", term=topic.id, label=topic.name)


def _document(feed: etree._Element) -> bytes:
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _marked(snippet: str, highlights: Sequence[tuple[int, int]]) -> str:
    """``snippet`` as HTML, each highlighted span in ``<b>``, every piece escaped."""
    return "".join(
        f"<b>{_escape(text)}</b>" if hit else _escape(text)
        for text, hit in spans(snippet, highlights)
    )


def spans(text: str, highlights: Iterable[Sequence[int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, highlighted) runs by ``highlights`` ([start, end)
    offsets). Offsets out of range, reversed, unordered or overlapping are clipped and
    merged, so no highlight can repeat or lose a character of the text."""
    size = len(text)
    ranges = sorted(
        (max(0, min(size, int(r[0]))), max(0, min(size, int(r[1]))))
        for r in highlights
        if len(r) == 2
    )
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in ranges:
        start = max(start, at)
        if end <= start:
            continue
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < size:
        out.append((text[at:], False))
    return out


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = _element(parent, tag)
    element.text = xml_safe(text)
    return element


def _element(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{_E}{tag}", {k: xml_safe(v) for k, v in attributes.items()})


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
