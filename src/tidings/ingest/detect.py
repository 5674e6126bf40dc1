"""Telling what kind of input a document is, from its first bytes (then its name)."""

from __future__ import annotations

import json
import re

from tidings.errors import ParseError
from tidings.ingest.decoding import wide_encoding
from tidings.models import Document

KINDS = ("feed", "jsonfeed", "page", "capture", "jsonl", "mind")
# Kinds that hold many articles and may be large; the others are one document each.
BULK_KINDS = frozenset({"jsonl", "mind"})
# Kinds that are feeds: what a reader can subscribe to, and what polling completes with full text.
FEED_KINDS = ("feed", "jsonfeed")

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


def _sniff_bytes(data: bytes) -> bytes:
    """The head as ASCII-compatible bytes (UTF-16/32 text re-encoded) for sniffing."""
    head = data[:_HEAD]
    encoding = wide_encoding(head)
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
        from tidings.ingest import jsonl

        if _may_be_jsonfeed(doc.data):
            from tidings.ingest import jsonfeed  # 50-100 ms to import: only when it may be one

            if jsonfeed.looks_like_jsonfeed(doc.data):
                return "jsonfeed"
        if jsonl.looks_like_jsonl(stripped):
            return "jsonl"
        if _too_deep(stripped):
            raise ParseError("not valid JSON: nested too deeply to read")
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


def _may_be_jsonfeed(data: bytes) -> bool:
    """False when ``data`` cannot be a JSON Feed: UTF-8 that never names jsonfeed.org, which
    :func:`tidings.ingest.jsonfeed.looks_like_jsonfeed` would refuse too (UTF-16/32 input is
    left to it)."""
    return wide_encoding(data[:256]) is not None or b"jsonfeed.org" in data


def _too_deep(head: bytes) -> bool:
    """Whether the first line of ``head`` is JSON nested deeper than Python's parser goes
    (about a thousand levels; such input is hostile, never a real feed)."""
    try:
        json.loads(head.split(b"\n", 1)[0])
    except RecursionError:
        return True
    except ValueError:
        return False
    return False
