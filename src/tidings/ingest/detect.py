"""Telling what kind of input a document is, from its first bytes (then its name)."""

from __future__ import annotations

import re

from tidings.errors import ParseError
from tidings.models import Document

KINDS = ("feed", "jsonfeed", "page", "capture", "jsonl", "mind")
# Kinds that hold many articles and may be large; the others are one document each.
BULK_KINDS = frozenset({"jsonl", "mind"})

_HEAD = 65536
# A feed's root element, with or without a namespace prefix (``<r:rss>``, ``<atom:feed>``).
_FEED_ROOT = re.compile(rb"<(?:\w+:)?(rss|feed|rdf|channel)[\s>/]", re.IGNORECASE)
_OPML_ROOT = re.compile(rb"<opml[\s>]", re.IGNORECASE)
_HTML = re.compile(rb"<(!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE)
_BY_CONTENT_TYPE = {
    "application/rss+xml": "feed", "application/atom+xml": "feed", "application/rdf+xml": "feed",
    "application/feed+json": "jsonfeed", "text/html": "page", "application/xhtml+xml": "page",
    "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
}  # fmt: skip
_BOMS = (  # longest first: the UTF-32LE BOM begins with the UTF-16LE one
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16/32 (either byte order, BOM or not) told from where the NUL bytes fall.

    Mostly-ASCII markup in UTF-32BE has NULs at offsets 0-2 of every 4 bytes, UTF-16LE at
    every odd offset, and so on (the XML spec's autodetection, without needing a ``<``).
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    sample = head[:256]
    if len(sample) < 8 or sample.count(0) < len(sample) // 3:
        return None
    zero = [sum(1 for i in range(r, len(sample), 4) if sample[i] == 0) for r in range(4)]
    quarter = len(sample) // 4 * 0.9
    if zero[0] >= quarter and zero[1] >= quarter and zero[2] >= quarter:
        return "utf-32-be"
    if zero[1] >= quarter and zero[2] >= quarter and zero[3] >= quarter:
        return "utf-32-le"
    if zero[0] >= quarter and zero[2] >= quarter:
        return "utf-16-be"
    if zero[1] >= quarter and zero[3] >= quarter:
        return "utf-16-le"
    return None


def _sniff_bytes(data: bytes) -> bytes:
    """The head as ASCII-compatible bytes (UTF-16/32 text re-encoded) for sniffing."""
    head = data[:_HEAD]
    encoding = _wide_encoding(head)
    if encoding:
        text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
        return text.encode("utf-8")
    return head.removeprefix(b"\xef\xbb\xbf")


def detect_kind(doc: Document) -> str:
    """One of :data:`KINDS`; raises :class:`ParseError` for empty, binary or OPML input."""
    if not doc.data.strip():
        raise ParseError("empty input: there is nothing to read")
    head = _sniff_bytes(doc.data)
    stripped = head.lstrip()
    if b"\x00" in stripped[:8192]:
        raise ParseError("binary data, not text (is this the right file?)")
    if _OPML_ROOT.search(stripped[:4096]):
        raise ParseError("this is an OPML subscription list: use `tidings sources import`")
    if stripped.startswith((b"{", b"[")):
        from tidings.ingest import jsonfeed, jsonl

        if jsonfeed.looks_like_jsonfeed(doc.data):
            return "jsonfeed"
        if jsonl.looks_like_jsonl(stripped):
            return "jsonl"
        raise ParseError("JSON, but neither a JSON Feed nor JSON Lines of articles")
    if stripped.startswith(b"<"):
        if _FEED_ROOT.search(stripped):
            return "feed"
        if _HTML.search(stripped[:_HEAD]):
            return "page"
        return "feed" if stripped.startswith(b"<?xml") else "page"
    from tidings.ingest import mind

    if mind.looks_like_mind(stripped):
        return "mind"
    content_type = (doc.content_type or "").split(";")[0].strip().lower()
    if content_type in _BY_CONTENT_TYPE:
        return _BY_CONTENT_TYPE[content_type]
    return "capture"
