"""A reader's ranked feed as Atom (RFC 4287), readable by feedparser and any feed reader.

Each entry is one story: its lead article's title, link, time, source and key points, with
the reason it is in the feed as the entry's summary. Every text and attribute value passes
through :func:`~tidings.safety.xml_safe` (by :func:`_text` and :func:`_element`), so a
control character in a title, a reader's name or a stored row cannot break the document.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from tidings.rank.feed import FeedPage
from tidings.safety import xml_safe

ATOM = "http://www.w3.org/2005/Atom"
_E = f"{{{ATOM}}}"


def render(page: FeedPage, *, title: str, self_url: str, now: datetime | None = None) -> bytes:
    """The page as a UTF-8 Atom document."""
    now = now or datetime.now(UTC)
    feed = etree.Element(f"{_E}feed", nsmap={None: ATOM})
    _text(feed, "id", f"urn:tidings:feed:{page.reader.id}")
    _text(feed, "title", title)
    _text(feed, "updated", now.isoformat())
    _text(feed, "generator", "tidings")
    _element(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    author = _element(feed, "author")
    _text(author, "name", "tidings")
    for item in page.items:
        article = item.article
        entry = _element(feed, "entry")
        _text(entry, "id", article.url or f"urn:tidings:story:{item.story_id}")
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
        outlets = f" (+{item.outlets - 1} outlets)" if item.outlets > 1 else ""
        _text(entry, "summary", f"{item.reason.text}{outlets}")
        points = "".join(f"<li>{_escape(p)}</li>" for p in article.key_points)
        body = f"<p><em>{_escape(item.reason.text)}</em></p>"
        if points:
            body += f"<ul>{points}</ul>"
        content = _text(entry, "content", body)
        content.set("type", "html")
        for topic in article.topics[:8]:
            _element(entry, "category", term=topic.id, label=topic.name)
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = _element(parent, tag)
    element.text = xml_safe(text)
    return element


def _element(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{_E}{tag}", {k: xml_safe(v) for k, v in attributes.items()})


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
