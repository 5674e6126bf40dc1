"""OPML subscription lists: read the feeds out of one, write one for other readers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from tidings.errors import ParseError


@dataclass(frozen=True, slots=True)
class Outline:
    url: str
    title: str | None = None
    site_url: str | None = None


def read(data: bytes) -> list[Outline]:
    """Every feed outline (``xmlUrl``) in an OPML document, nested folders included."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not OPML: the XML is malformed ({exc})") from exc
    if etree.QName(root).localname.lower() != "opml":
        raise ParseError(f"not OPML: the root element is <{etree.QName(root).localname}>")
    found: dict[str, Outline] = {}
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if url.startswith(("http://", "https://")) and url not in found:
            title = (node.get("title") or node.get("text") or "").strip()
            found[url] = Outline(
                url, title if title and title != url else None, node.get("htmlUrl")
            )
    return list(found.values())


def write(outlines: Iterable[Outline], *, title: str = "tidings subscriptions") -> str:
    """An OPML 2.0 document listing the given feeds."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = etree.SubElement(root, "body")
    for outline in outlines:
        attributes = {"type": "rss", "text": outline.title or outline.url, "xmlUrl": outline.url}
        if outline.title:
            attributes["title"] = outline.title
        if outline.site_url:
            attributes["htmlUrl"] = outline.site_url
        etree.SubElement(body, "outline", attributes)
    return etree.tostring(root, encoding="unicode", pretty_print=True)
