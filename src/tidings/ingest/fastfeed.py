"""A fast first reading of RSS and Atom feeds (fastfeedparser, on lxml), shaped like feedparser's.

feedparser spends most of a feed's time in Python SAX callbacks; fastfeedparser reads the
same feed with lxml in about a twentieth of the time, but keeps less: no text/HTML types on
titles, no ``xml:base`` or ``xml:lang``, no iTunes fields, one content per entry, inline
XHTML as the raw element. What it leaves out but the strict lxml tree (parsed anyway, to
know the feed is well-formed) still has is read from there: languages, thumbnails, XHTML
content, a summary taken from Media RSS, an ``xml:base`` on an entry's text. Anything else
fastfeedparser would read unlike feedparser sends the feed to feedparser: checked on the
bytes before parsing, on the tree, and against a count of the entries' start tags; then
:func:`read` answers with the reason, and :mod:`tidings.ingest.feed` asks feedparser.
What it returns is shaped like feedparser's result, so both paths go through the same
field logic in :mod:`tidings.ingest.feed`.

The input is already bounded when it gets here (:func:`tidings.ingest.feedsax.keep_entries`
and :func:`~tidings.ingest.feedsax.flatten_xml`): lxml's reading is linear C over at most
:data:`~tidings.ingest.feedsax.MAX_ENTRIES` entries nested at most
:data:`~tidings.ingest.markup.MAX_DEPTH` deep, and the per-entry work is under the caller's
budget.
"""

from __future__ import annotations

import re
import time
from copy import deepcopy as copy_element
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

import fastfeedparser
import fastfeedparser.main as _ffp
import lxml.etree as etree
from feedparser.mixin import _FeedParserMixin

__all__ = ["FastFeed", "read"]

# fastfeedparser writes a plain-text prefix of the content into "description" when an entry
# has none; feedparser does not, and a made-up summary would change key points. The hook
# is a module function in the pinned versions; without it every feed takes feedparser.
_SYNTHESIZES = hasattr(_ffp, "_synthesize_entry_description")
if _SYNTHESIZES:
    _ffp._synthesize_entry_description = lambda entry: None  # type: ignore[attr-defined]

# What fastfeedparser does not keep, or keeps differently from feedparser. Found by
# comparing both readings of the shared feeds and feedparser's conformance suite. Matched on
# the lowered bytes (as IGNORECASE would, ASCII only), in a few patterns that each begin with
# a literal: one alternation of all of them, case-insensitive, took a fifth of a fast feed's
# time, trying every alternative at every byte.
_UNHANDLED_MARKUP = re.compile(
    rb"""<(?:itunes:|source[\s>]|(?:[\w.-]+:)?created
    |(?:[\w.-]+:)?link(?![^>]*href)[^>]*/?>(?!\s*http)
    |description[^>]*\btype=(?!["'](?:html|text/html)["'])
    |(?:[\w.-]+:)?summary[^>]*\btype=["']?text|(?:[\w.-]+:)?content[^>]*\btype=["']?text
    |(?:[\w.-]+:)?(?:title|summary|subtitle|description)[^>]*\btype=["']
        (?:xhtml|application/xhtml\+xml)|xhtml:body|xhtml:div
    |!entity|!doctype
    |(?:[\w.-]+:)?(?:title|summary|subtitle|description)(?:\s[^>]*)?>[^<]*<(?![/!])
    |body[\s>]|fullitem
    |(?:(?!media:)[\w.-]+:)?(?:title|summary|subtitle|content)[^>]*\btype=["']
        (?!(?:text|html|xhtml|text/html|text/plain)["'])
    |script|object)
    |&(?:lt;script|lt;object|\#(?:1[2-5]\d|x[89][0-9a-f]);)""",
    re.VERBOSE,
)
# The rest; a word boundary is checked after the literal (one before it would be tried at
# every byte).
_UNHANDLED_ELSEWHERE = tuple(
    re.compile(pattern)
    for pattern in (
        rb"mode=(?<!\wmode=)",
        rb"rel=[\"']enclosure(?<!\wrel=.enclosure)",
        rb"\xc2[\x80-\x9f]",
    )
)
_ENTRY_START = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(?:item|entry)[\s/>]")
_WIDE = (b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf", b"\x00\x00", b"\x00<", b"<\x00")
_ATOM_NS = re.compile(rb"""xmlns(?::\w+)?=["']http://www\.w3\.org/2005/Atom["']""")
# RSS <author>: "jane@example.com (Jane Doe)", which feedparser reads as name and e-mail.
_NAMED_EMAIL = re.compile(r"^\s*\S+@\S+\s*\((.+)\)\s*$")
# … or "Jane Doe (jane@example.com)", which it reads the same way.
_NAME_EMAIL = re.compile(r"^\s*(.+?)\s*\(\s*\S+@\S+\s*\)\s*$")
# The channel's language, read from the bytes before the first entry (fastfeedparser has none).
_LANGUAGE = re.compile(rb"<(?:dc:)?language>([^<]{1,64})</(?:dc:)?language>", re.IGNORECASE)
_SUMMARY = re.compile(rb"<(?:[\w.-]+:)?summary[\s/>]")
_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding=["']([\w.:-]+)""")
_LINK_WITHOUT_HREF = re.compile(rb"<(?:[\w.-]+:)?link(?![^>]*\bhref)[\s/>]")
_IDS = re.compile(rb"<(?:[\w.-]+:)?(?:id|guid)[\s>]")
_MRSS = b"http://search.yahoo.com/mrss/"
_MEDIA = "{" + _MRSS.decode() + "}"
_NAMESPACE = re.compile(rb"""xmlns(?::([\w.-]+))?\s*=\s*["']([^"']*)["']""")
_MEDIA_TITLE = _MEDIA + "title"
_MEDIA_DESCRIPTION = _MEDIA + "description"
_MEDIA_THUMBNAIL = _MEDIA + "thumbnail"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_WEB_ADDRESS = re.compile(r"https?://[^/\s]+/[^\s#?]*\Z")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_STRICT = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@dataclass(frozen=True, slots=True)
class FastFeed:
    """A feed as feedparser would have given it (the fields :mod:`feed` reads)."""

    version: str
    feed: dict[str, Any]
    entries: list[dict[str, Any]]


@dataclass(slots=True)
class _Extra:
    """What an entry's element says that fastfeedparser's reading of it leaves out."""

    thumbnails: list[dict[str, Any]]
    language: str | None = None
    has_summary: bool = False
    content_base: str | None = None  # xml:base of the content, and of the summary
    summary_base: str | None = None
    xhtml: str | None = None  # inline XHTML content, as feedparser serialises it


def read(data: bytes) -> FastFeed | str:
    """The feed in ``data`` read fast, or why it must be read by feedparser instead."""
    if not _SYNTHESIZES:
        return "fastfeedparser changed: its description hook is gone"
    if data[:3] in _WIDE or data[:2] in _WIDE or data[:4].count(b"\x00") > 1:
        return "not UTF-8"
    declared = _ENCODING.search(data[:200])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii"):
        return "not UTF-8"
    if (unhandled := _unhandled(data)) is not None:
        return f"uses {unhandled}"
    starts = [m.start() for m in _ENTRY_START.finditer(data)]
    if not starts:
        return "no entries"
    expected, first = len(starts), starts[0]
    # The cheap byte checks come before any parsing: a feed they send on costs nothing more.
    atom = _ATOM_NS.search(data[:4096]) is not None and b"<rss" not in data[:4096]
    if not atom and _SUMMARY.search(data):  # RSS with a <summary> beside <description>
        return "uses summary in RSS"
    authors = data.count(b"<author") + data.count(b"<dc:creator")
    if authors > expected + 1:  # some entry names several: feedparser joins them
        return "uses several authors per entry"
    if atom and _LINK_WITHOUT_HREF.search(data):
        return "uses a link without href"
    for prefix, uri in _NAMESPACE.findall(data):
        # feedparser takes any "media:" element for Media RSS, and Media RSS under any prefix
        # or spelling of its address; fastfeedparser and the tree only this one.
        media_uri = uri.lower().rstrip(b"/") == _MRSS.rstrip(b"/")
        if (prefix == b"media") != media_uri or (media_uri and uri != _MRSS):
            return "uses Media RSS under another name"
    try:
        # Not well-formed means feedparser's loose reading and its warnings: leave it to it.
        root = etree.fromstring(data, _STRICT)
    except etree.XMLSyntaxError:
        return "not well-formed"
    try:
        result = fastfeedparser.parse(data)
    except Exception as exc:  # any failure of the fast reader is feedparser's turn
        return f"fastfeedparser failed: {type(exc).__name__}"
    entries = result.get("entries") or []
    if len(entries) != expected:
        return f"{len(entries)} entries read, {expected} in the document"
    elements = list(root.iter("{*}item", "{*}entry"))
    if len(elements) != expected:
        return f"{len(elements)} entry elements, {expected} start tags"
    if b"xml:base" in data and not _bases_only_on_entry_texts(root):
        return "uses xml:base for more than an entry's text"
    language = _LANGUAGE.search(data, 0, first)  # the channel's, before the first entry
    feed = _feed(result.get("feed") or {})
    # Without any <id> or <guid>, the ids fastfeedparser gives are copies of the links.
    has_ids = _IDS.search(data) is not None or b"rdf:about" in data
    feed["language"] = (
        language.group(1).decode("utf-8", "replace").strip() if language else _root_language(root)
    )
    media = _MRSS in data
    out = []
    for entry, element in zip(entries, elements, strict=True):
        extra = _from_tree(element, entry, media)
        if isinstance(extra, str):
            return extra
        out.append(_entry(entry, has_ids, extra))
    return FastFeed(version="atom10" if atom else "rss20", feed=feed, entries=out)


def _root_language(root: etree._Element) -> str | None:
    """The feed's language when it has no <language>: feedparser takes the root's xml:lang,
    else the one its title is in."""
    if _local(root) in ("feed", "rss", "RDF") and (language := _own_language(root)):
        return language.replace("_", "-")
    channel = next(root.iter("{*}channel"), root)
    title = next(channel.iterchildren("{*}title"), None)
    return _language(title) if title is not None else None


def _from_tree(element: etree._Element, entry: dict[str, Any], media: bool) -> _Extra | str:
    """What fastfeedparser leaves out of an entry, read from its element; or why feedparser
    must read the entry. ``media``: whether the document declares Media RSS at all."""
    content = summary = title = None
    links = []
    for child in element.iterchildren(tag=etree.Element):
        name = "" if child.tag.startswith(_MEDIA) else _local(child)
        if name in ("content", "encoded") and content is None:
            content = child
        elif name in ("summary", "description") and summary is None:
            summary = child
        elif name == "title" and title is None:
            title = child
        elif name == "link" and child.get("href"):
            links.append(child.get("rel", "alternate"))
    if links and "alternate" not in links:  # feedparser's link is only ever the alternate one
        return "an entry links only with another rel"
    found: dict[str, list[etree._Element]] = {_MEDIA_TITLE: [], _MEDIA_DESCRIPTION: []}
    thumbnails = []
    for node in element.iter(_MEDIA_TITLE, _MEDIA_DESCRIPTION, _MEDIA_THUMBNAIL) if media else ():
        if node.tag == _MEDIA_THUMBNAIL:
            thumbnails.append(_thumbnail(node))
        else:
            found[node.tag].append(node)
    # Media RSS titles and descriptions are the entry's own to feedparser, each in its way.
    if found[_MEDIA_TITLE] and (title is None or (title.text or "").strip() != entry.get("title")):
        return "uses media:title for the title"
    descriptions = found[_MEDIA_DESCRIPTION]
    if descriptions:
        if len(descriptions) > 1 or content is not None or summary is not None:
            return "uses media:description beside other text"
        # The entry's only text: feedparser's summary, which fastfeedparser leaves out.
        if _content_type(descriptions[0].get("type"), "text/html") != "text/html":
            return "uses a media:description not typed HTML"
        entry["description"] = (descriptions[0].text or "").strip()
    extra = _Extra(
        thumbnails=thumbnails,
        has_summary=summary is not None,
        content_base=content.get(_XML_BASE) if content is not None else None,
        summary_base=summary.get(_XML_BASE) if summary is not None else None,
    )
    if content is not None and len(content):
        if content.get("type") not in ("xhtml", "application/xhtml+xml"):
            return "uses markup in a content not typed XHTML"
        if not entry.get("content"):
            return "fastfeedparser read no content from inline XHTML"
        extra.xhtml = _inner_xhtml(content)
    for text in (content, summary, title):  # feedparser's language is its content's first
        if text is not None and (language := _language(text)):
            extra.language = language.replace("_", "-")
            break
    return extra


def _bases_only_on_entry_texts(root: etree._Element) -> bool:
    """Whether every xml:base is an absolute web address on an entry's content or summary:
    there feedparser only records it (relative URIs are left alone), whereas one in scope of
    a link would change the link."""
    for element in root.iter(tag=etree.Element):
        base = element.get(_XML_BASE)
        if base is None:
            continue
        parent = element.getparent()
        if (
            _local(element) not in ("content", "summary", "description")
            or parent is None
            or _local(parent) not in ("item", "entry")
            or not _WEB_ADDRESS.match(base)
        ):
            return False
    return True


def _thumbnail(element: etree._Element) -> dict[str, Any]:
    """A media:thumbnail as feedparser gives it: its attributes, the URL also as text."""
    thumbnail: dict[str, Any] = dict(element.attrib)
    if "url" not in thumbnail and (url := (element.text or "").strip()):
        thumbnail["url"] = url
    return thumbnail


def _content_type(declared: str | None, default: str) -> str:
    """A text element's type as feedparser names it."""
    kind = (declared or default).lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(kind, kind)


def _own_language(element: etree._Element) -> str | None:
    """``xml:lang``, else ``lang``, as feedparser reads them ("" for none, even inherited)."""
    language = element.get(_XML_LANG)
    return element.get("lang") if language is None else language


def _language(element: etree._Element) -> str | None:
    """The language in scope at ``element``."""
    for node in (element, *element.iterancestors()):
        if (language := _own_language(node)) is not None:
            return language or None
    return None


def _inner_xhtml(content: etree._Element) -> str:
    """Inline XHTML content as feedparser gives it: the markup inside, prefixes dropped, and
    without the wrapping <div> when it holds everything."""
    copy = copy_element(content)
    for element in copy.iter(tag=etree.Element):
        element.tag = _local(element)
    etree.cleanup_namespaces(copy)
    children = list(copy)
    if (
        len(children) == 1
        and children[0].tag == "div"
        and not (copy.text or "").strip()
        and not (children[0].tail or "").strip()
    ):
        copy = children[0]
    return escape(copy.text or "", quote=False) + "".join(
        etree.tostring(child, encoding="unicode", with_tail=True) for child in copy
    )


def _local(element: etree._Element) -> str:
    return str(element.tag).rpartition("}")[2]


def _unhandled(data: bytes) -> str | None:
    """The first thing in ``data`` that fastfeedparser would read unlike feedparser, if any."""
    lowered = data.lower()
    matches = [
        _UNHANDLED_MARKUP.search(lowered),
        *(p.search(lowered) for p in _UNHANDLED_ELSEWHERE),
    ]
    spans = [m.span() for m in matches if m is not None]
    if not spans:
        return None
    start, end = min(spans)
    return data[start:end].decode("ascii", "replace")


def _feed(feed: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"link": feed.get("link"), "language": feed.get("language")}
    if feed.get("title"):
        out["title"] = feed["title"]
        out["title_detail"] = {"type": "text/plain"}
    return out


def _entry(entry: dict[str, Any], has_ids: bool, extra: _Extra) -> dict[str, Any]:
    if extra.xhtml is not None:  # fastfeedparser gives the <content> element itself
        entry["content"][0].update(type="application/xhtml+xml", value=extra.xhtml)
    keys = ("id", "link", "links") if has_ids else ("link", "links")
    out: dict[str, Any] = {key: entry[key] for key in keys if key in entry}
    for key in ("published", "updated"):
        if entry.get(key):
            out[f"{key}_parsed"] = _struct_time(entry[key])
    title = entry.get("title")
    if title:
        out["title"] = title
        # feedparser guesses at RSS titles (Atom ones with a type were sent to feedparser).
        html = _FeedParserMixin.looks_like_html(title)
        out["title_detail"] = {"type": "text/html" if html else "text/plain"}
    if entry.get("description"):
        out["summary"] = entry["description"]
        out["summary_detail"] = {"type": "text/html", "base": extra.summary_base}
    # Content in an entry without a summary is also its summary to feedparser (fastfeedparser
    # makes up a plain-text one).
    first = (entry.get("content") or [{}])[0]
    kind = _content_type(first.get("type"), "text/html")
    if not extra.has_summary and first and kind in ("text/plain", *_HTML_TYPES):
        out["summary"] = first.get("value") or ""
        out["summary_detail"] = {"type": kind, "base": extra.content_base}
    contents = [
        {
            "type": c.get("type") or "text/html",
            "value": c.get("value") or "",
            "base": None if i else extra.content_base,
        }
        for i, c in enumerate(entry.get("content") or [])
    ]
    # For an RSS item without content:encoded, fastfeedparser copies the description there.
    # (A content:encoded equal to the description reads the same either way.)
    if contents and contents[0]["value"].strip() != out.get("summary"):
        out["content"] = contents
    names = [a.get("name") for a in entry.get("authors") or [] if a.get("name")]
    if not names and entry.get("author"):
        names = [entry["author"]]
    for detail in [out.get("title_detail"), out.get("summary_detail"), *out.get("content", [])]:
        if detail is not None:
            detail["language"] = extra.language
    if extra.thumbnails:
        out["media_thumbnail"] = extra.thumbnails
    if names:
        out["authors"] = [{"name": _name(n)} for n in names]
    if entry.get("tags"):
        out["tags"] = [{"term": t.get("term"), "label": t.get("label")} for t in entry["tags"]]
    if entry.get("enclosures"):
        out["enclosures"] = [
            {"href": e.get("url"), "type": e.get("type")} for e in entry["enclosures"]
        ]
    if entry.get("media_content"):
        credits = [m["credit"] for m in entry["media_content"] if m.get("credit")]
        if credits:
            out["media_credit"] = [{"content": credits[0]}]
        out["media_content"] = [
            {k: m.get(k) for k in ("url", "type", "medium", "width", "duration", "title")}
            for m in entry["media_content"]
        ]
    return out


def _struct_time(iso: str) -> time.struct_time | None:
    """fastfeedparser's ISO 8601 date as feedparser's: a UTC struct_time, whole seconds."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).timetuple()


def _name(name: str) -> str:
    match = _NAMED_EMAIL.match(name) or _NAME_EMAIL.match(name)
    return match.group(1) if match else name
