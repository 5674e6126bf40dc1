"""OPML subscription lists: read the feeds out of one, write one for other readers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from tidings.errors import ParseError
from tidings.safety import clean_text, safe_url


@dataclass(frozen=True, slots=True)
class Outline:
    url: str
    title: str | None = None
    site_url: str | None = None
    folder: str | None = None  # the nearest enclosing outline that is no feed, by its name


def read(data: bytes, warnings: list[str] | None = None) -> list[Outline]:
    """Every feed outline (``xmlUrl``) in an OPML document, nested folders included (each
    feed keeps the name of the folder it is in, as other readers export them).

    Raises only :class:`ParseError` (for a document that is not OPML). An outline whose feed
    address is not an http(s) URL is skipped, and named in ``warnings`` when given; titles
    lose control characters, and a site address that is not http(s) is dropped.
    """
    try:
        return _read(data, warnings if warnings is not None else [])
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("not OPML: nested too deeply to read") from None
    except MemoryError:
        raise ParseError("not OPML: too large to read into memory") from None
    except Exception as exc:  # a hostile list must cost an import, never a server error
        problem = clean_text(f"{type(exc).__name__}: {exc}"[:300])
        raise ParseError(f"not OPML: could not be read ({problem})") from exc


def _read(data: bytes, warnings: list[str]) -> list[Outline]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(clean_text(f"not OPML: the XML is malformed ({exc})")) from exc
    if root is None:
        raise ParseError("not OPML: the document is empty")
    name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
    if name.lower() != "opml":
        raise ParseError(clean_text(f"not OPML: the root element is <{name[:100]}>"))
    found: dict[str, Outline] = {}
    for number, node in enumerate(root.iter("outline"), 1):
        given = node.get("xmlUrl") or node.get("xmlurl")
        if not given:
            continue  # a folder, or a link that is no feed
        title = _line(node.get("title") or node.get("text"))
        url = safe_url(given)
        if url is None:
            label = f" ({title[:80]!r})" if title else ""
            warnings.append(
                f"skipped outline {number}{label}: {given[:200]!r} is not an http(s) URL"
            )
            continue
        if url not in found:
            found[url] = Outline(
                url,
                title if title and title != url else None,
                safe_url(node.get("htmlUrl")),
                _folder(node),
            )
    return list(found.values())


def _folder(node: etree._Element) -> str | None:
    """The name of the nearest enclosing outline that is no feed (a folder), if any."""
    parent = node.getparent()
    while parent is not None and parent.tag == "outline":
        if not (parent.get("xmlUrl") or parent.get("xmlurl")):
            return _line(parent.get("title") or parent.get("text"))[:200] or None
        parent = parent.getparent()
    return None


def _line(text: str | None) -> str:
    return " ".join(clean_text(text).split()) if text else ""


def write(outlines: Iterable[Outline], *, title: str = "tidings subscriptions") -> str:
    """An OPML 2.0 document listing the given feeds, those with a folder inside an outline
    of that name (the first time a folder appears is where it goes)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for outline in outlines:
        parent = body
        if outline.folder:
            if outline.folder not in folders:
                named = {"text": outline.folder, "title": outline.folder}
                folders[outline.folder] = etree.SubElement(body, "outline", named)
            parent = folders[outline.folder]
        attributes = {"type": "rss", "text": outline.title or outline.url, "xmlUrl": outline.url}
        if outline.title:
            attributes["title"] = outline.title
        if outline.site_url:
            attributes["htmlUrl"] = outline.site_url
        etree.SubElement(parent, "outline", attributes)
    return etree.tostring(root, encoding="unicode", pretty_print=True)
