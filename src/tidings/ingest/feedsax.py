"""Make feedparser's XML reading linear in practice: a SAX driver and an XML depth limit.

feedparser hands each piece of character data to Python handlers. expat reports text cut at
every entity reference, so the escaped HTML of an RSS description (``&lt;p&gt;…``) costs a
Python call per ``&lt;``: 2 s for a 4.6 MB description. The driver here is the standard
expat one with ``buffer_text`` on, which joins adjacent text into one call (0.1 s for the
same). feedparser picks its SAX driver from ``PREFERRED_XML_PARSERS``, a list of module
names handed to :func:`xml.sax.make_parser`, so this module is such a driver.

feedparser also spends a Python call on every element of inline XHTML (Atom
``type="xhtml"``), so :func:`flatten_xml` removes the tags of elements nested deeper than
:data:`~tidings.ingest.markup.MAX_DEPTH` before feedparser sees them, keeping their text.
And it spends about 0.2 ms on even the smallest entry, which no time budget can interrupt:
20 MB of empty items took it 40 s. :func:`keep_entries` cuts a feed to its first
:data:`MAX_ENTRIES` entries before it is parsed.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax import expatreader

from tidings.ingest.markup import MAX_DEPTH

__all__ = ["MAX_ENTRIES", "BufferedExpatParser", "create_parser", "flatten_xml", "keep_entries"]

_BUFFER_SIZE = 1 << 20
# Entries read from one feed. Real feeds carry 10 to 100; archives and podcasts a few
# thousand, newest first, so what is cut is the oldest.
MAX_ENTRIES = 1000


class BufferedExpatParser(expatreader.ExpatParser):
    """expat through SAX, with adjacent character data joined into one event."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True
        self._parser.buffer_size = _BUFFER_SIZE


def create_parser(*args: Any, **kwargs: Any) -> BufferedExpatParser:
    """The entry point :func:`xml.sax.make_parser` calls on a driver module."""
    return BufferedExpatParser(*args, **kwargs)


# A start, end or empty-element tag. "<" cannot occur inside an XML tag or attribute value,
# so no match runs past the next "<" and scanning stays linear on any input.
_XML_TOKEN = re.compile(
    rb"""<(?:(!--)|(!\[CDATA\[)|([!?])|(/?)[^\s/<>!?](?>[^<>"']+|"[^"<]*"|'[^'<]*')*>)"""
)
_WIDE = (b"\xfe\xff", b"\xff\xfe", b"\x00\x00", b"\x00<", b"<\x00")


def flatten_xml(data: bytes, max_depth: int = MAX_DEPTH) -> tuple[bytes, int]:
    """``data`` with the tags of elements nested deeper than ``max_depth`` removed, their
    text kept, and how many tags that removed. Linear; documents in a UTF-16 or UTF-32
    encoding, and shallow ones, come back as they are."""
    if data.count(b"<") <= max_depth or data[:2] in _WIDE or data[:4].count(b"\x00") > 1:
        return data, 0
    out: list[bytes] = []
    emitted = removed = depth = 0
    pos = 0
    search = _XML_TOKEN.search
    while (match := search(data, pos)) is not None:
        comment, cdata, other, end_tag = match.groups()
        start = match.start()
        if comment or cdata:
            close = data.find(b"-->" if comment else b"]]>", match.end())
            pos = len(data) if close < 0 else close + 3
            continue
        pos = match.end()
        if other:
            continue
        if end_tag:
            deep = depth > max_depth
            depth = max(0, depth - 1)
        elif data[pos - 2 : pos] == b"/>":
            deep = depth >= max_depth
        else:
            depth += 1
            deep = depth > max_depth
        if deep:
            out.append(data[emitted:start])
            out.append(b" ")
            emitted = pos
            removed += 1
    if not removed:
        return data, 0
    out.append(data[emitted:])
    return b"".join(out), removed


_ENTRY_START = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(?:item|entry)[\s/>]")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z][\w.-]*:)?(?:item|entry)\s*>")


def keep_entries(data: bytes, limit: int = MAX_ENTRIES) -> tuple[bytes, int]:
    """``data`` without the entries after the first ``limit``, and how many it had (0 when
    nothing was cut).

    What follows the last entry (the closing tags) is kept, so a well-formed feed stays
    well-formed. Linear; UTF-16 and UTF-32 documents come back as they are.
    """
    if data.count(b"<") <= 2 * limit or data[:2] in _WIDE or data[:4].count(b"\x00") > 1:
        return data, 0
    starts = _ENTRY_START.finditer(data)
    cut = None
    for count, match in enumerate(starts, start=1):
        if count > limit:
            cut = match.start()
            break
    if cut is None:
        return data, 0
    total = limit + 1 + sum(1 for _ in starts)
    last_end = None
    for last_end in _ENTRY_END.finditer(data, cut):  # noqa: B007 - the last one is wanted
        pass
    tail = data[last_end.end() :] if last_end is not None else b""
    return data[:cut] + tail, total
