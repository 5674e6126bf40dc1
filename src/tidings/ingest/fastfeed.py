"""A fast first reading of RSS and Atom feeds (fastfeedparser, on lxml), shaped like feedparser's.

feedparser spends most of a feed's time in Python SAX callbacks; fastfeedparser reads the
same feed with lxml in about a twentieth of the time, but keeps less: no text/HTML types on
titles, no ``xml:base`` or ``xml:lang``, no iTunes fields, one content per entry. So this
module reads a feed fast only when nothing it would lose is there, checked on the bytes
before parsing, and when the result agrees with a count of the entries' start tags; in any
other case it answers ``None`` with the reason, and :mod:`tidings.ingest.feed` asks
feedparser. What it returns is a feedparser-shaped ``(feed, entries)`` pair, so both paths
go through the same field logic in :mod:`tidings.ingest.feed`.

The input is already bounded when it gets here (:func:`tidings.ingest.feedsax.keep_entries`
and :func:`~tidings.ingest.feedsax.flatten_xml`): lxml's reading is linear C over at most
:data:`~tidings.ingest.feedsax.MAX_ENTRIES` entries nested at most
:data:`~tidings.ingest.markup.MAX_DEPTH` deep, and the per-entry work is under the caller's
budget.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
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
# comparing both readings of the shared feeds and feedparser's conformance suite.
_UNHANDLED = re.compile(
    rb"""xml:base|xml:lang|xhtml|<itunes:|<media:group
    |<source[\s>]|\bmode=|<(?:[\w.-]+:)?created|<(?:[\w.-]+:)?link(?![^>]*href)[^>]*/?>(?!\s*http)|<description[^>]*\btype=|<(?:[\w.-]+:)?summary[^>]*\btype=["']?text
    |<(?:[\w.-]+:)?content[^>]*\btype=["']?text|<!ENTITY|<!DOCTYPE
    |\xc2[\x80-\x9f]|&\#(?:1[2-5]\d|x[89][0-9a-f]);
    |<(?:[\w.-]+:)?(?:title|summary|subtitle|description)(?:\s[^>]*)?>[^<]*<(?![/!])
    |<body[\s>]|<fullitem|<media:title
    |<(?:[\w.-]+:)?(?:title|summary|subtitle|content)[^>]*\btype=["'](?!(?:text|html|xhtml|text/html|text/plain)["'])
    |\brel=["']enclosure|&lt;script|<script|&lt;object|<object|\bon[a-z]+\s*=""",
    re.VERBOSE | re.IGNORECASE,
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
# An entry's link of another kind ("related", "via"): feedparser's link is the alternate one.
_OTHER_REL = re.compile(
    rb"""<(?:[\w.-]+:)?link[^>]*\brel=["'](?!(?:alternate|self|enclosure|hub)["'])"""
)
_LINK_WITHOUT_HREF = re.compile(rb"<(?:[\w.-]+:)?link(?![^>]*\bhref)[\s/>]")
_IDS = re.compile(rb"<(?:[\w.-]+:)?(?:id|guid)[\s>]")
_STRICT = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@dataclass(frozen=True, slots=True)
class FastFeed:
    """A feed as feedparser would have given it (the fields :mod:`feed` reads)."""

    version: str
    feed: dict[str, Any]
    entries: list[dict[str, Any]]


def read(data: bytes) -> FastFeed | str:
    """The feed in ``data`` read fast, or why it must be read by feedparser instead."""
    if not _SYNTHESIZES:
        return "fastfeedparser changed: its description hook is gone"
    if data[:3] in _WIDE or data[:2] in _WIDE or data[:4].count(b"\x00") > 1:
        return "not UTF-8"
    declared = _ENCODING.search(data[:200])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii"):
        return "not UTF-8"
    if (found := _UNHANDLED.search(data)) is not None:
        return f"uses {found.group().decode('ascii', 'replace')}"
    starts = [m.start() for m in _ENTRY_START.finditer(data)]
    if not starts:
        return "no entries"
    expected, first = len(starts), starts[0]
    # The cheap byte checks come before any parsing: a feed they send on costs nothing more.
    atom = _ATOM_NS.search(data[:4096]) is not None and b"<rss" not in data[:4096]
    if not atom and _SUMMARY.search(data):  # RSS with a <summary> beside <description>
        return "uses summary in RSS"
    if _OTHER_REL.search(data, first):
        return "an entry links with another rel"
    authors = data.count(b"<author") + data.count(b"<dc:creator")
    if authors > expected + 1:  # some entry names several: feedparser joins them
        return "uses several authors per entry"
    if atom and _LINK_WITHOUT_HREF.search(data):
        return "uses a link without href"
    try:
        # Not well-formed means feedparser's loose reading and its warnings: leave it to it.
        etree.fromstring(data, _STRICT)
    except etree.XMLSyntaxError:
        return "not well-formed"
    try:
        result = fastfeedparser.parse(data)
    except Exception as exc:  # any failure of the fast reader is feedparser's turn
        return f"fastfeedparser failed: {type(exc).__name__}"
    entries = result.get("entries") or []
    if len(entries) != expected:
        return f"{len(entries)} entries read, {expected} in the document"
    # Atom content without a summary is also the summary to feedparser.
    content_is_summary = atom and _SUMMARY.search(data) is None
    language = _LANGUAGE.search(data, 0, first)  # the channel's, before the first entry
    feed = _feed(result.get("feed") or {})
    # Without any <id> or <guid>, the ids fastfeedparser gives are copies of the links.
    has_ids = _IDS.search(data) is not None or b"rdf:about" in data
    feed["language"] = language.group(1).decode("utf-8", "replace").strip() if language else None
    return FastFeed(
        version="atom10" if atom else "rss20",
        feed=feed,
        entries=[_entry(e, content_is_summary, has_ids) for e in entries],
    )


def _feed(feed: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"link": feed.get("link"), "language": feed.get("language")}
    if feed.get("title"):
        out["title"] = feed["title"]
        out["title_detail"] = {"type": "text/plain"}
    return out


def _entry(entry: dict[str, Any], content_is_summary: bool, has_ids: bool) -> dict[str, Any]:
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
        out["summary_detail"] = {"type": "text/html"}
    if content_is_summary and entry.get("content"):
        first = entry["content"][0]
        out["summary"] = first.get("value") or ""
        out["summary_detail"] = {"type": first.get("type") or "text/html"}
    contents = [
        {"type": c.get("type") or "text/html", "value": c.get("value") or ""}
        for c in entry.get("content") or []
    ]
    # For an RSS item without content:encoded, fastfeedparser copies the description there.
    # (A content:encoded equal to the description reads the same either way.)
    if contents and contents[0]["value"].strip() != out.get("summary"):
        out["content"] = contents
    names = [a.get("name") for a in entry.get("authors") or [] if a.get("name")]
    if not names and entry.get("author"):
        names = [entry["author"]]
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
