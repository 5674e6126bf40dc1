"""Small text helpers shared by the parsers: whitespace, paragraphs, dates."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from dateutil import parser as date_parser

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n")


def clean_line(text: str) -> str:
    """One line of text with Unicode normalised (NFC) and runs of spaces collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def paragraphs_from_text(text: str) -> list[str]:
    """Split plain text into paragraphs at blank lines (or at line breaks when it has none)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = _BLANK_LINES.split(text) if _BLANK_LINES.search(text) else text.split("\n")
    paragraphs = (clean_line(" ".join(block.split("\n"))) for block in blocks)
    return [p for p in paragraphs if p]


def parse_date(value: object) -> datetime | None:
    """A timezone-aware UTC datetime from a string, ``datetime`` or time tuple; None if unreadable.

    Times without a zone are taken as UTC, the convention of feeds that omit it.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, tuple | list) or hasattr(value, "tm_year"):
        try:
            parsed = datetime(*tuple(value)[:6], tzinfo=UTC)  # type: ignore[misc]
        except (TypeError, ValueError):
            return None
    else:
        try:
            parsed = date_parser.parse(str(value).strip())
        except (ValueError, OverflowError, TypeError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
