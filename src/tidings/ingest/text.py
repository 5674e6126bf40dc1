"""Small text helpers shared by the parsers: whitespace, paragraphs, dates."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from dateutil import parser as date_parser

from tidings.errors import ParseError
from tidings.models import Document, Parsed, ParsedArticle

# Runs of spaces that need replacing by one space: a single plain space is left alone, so
# ordinary prose (a space between every two words) makes no replacements at all.
_SPACES = re.compile(
    r" [ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+"
    r"|[\t\u00a0\u2000-\u200b\u202f\u205f\u3000][ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]*"
)
# What every run the pattern replaces contains: two spaces, or a space other than " ".
_RUN_STARTS = ("  ", "\t", "\u00a0", *map(chr, range(0x2000, 0x200C)), "\u202f", "\u205f", "\u3000")
_BLANK_LINES = re.compile(r"\n\s*\n")
# ISO 8601 dates and times, read by the standard library; anything else goes to dateutil.
_ISO_DATE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
)


def clean_line(text: str) -> str:
    """One line of text with Unicode normalised (NFC) and runs of spaces collapsed."""
    if text.isascii():  # the common case: already NFC, and only tabs and spaces to collapse
        if "  " in text or "\t" in text:
            text = _SPACES.sub(" ", text)
        return text.strip()
    text = unicodedata.normalize("NFC", text)
    # A handful of substring searches is several times faster than the regex's scan of a
    # wide string, and most text has nothing for it to replace.
    if any(run in text for run in _RUN_STARTS):
        text = _SPACES.sub(" ", text)
    return text.strip()


def paragraphs_from_text(text: str) -> list[str]:
    """Split plain text into paragraphs at blank lines (or at line breaks when it has none)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = _BLANK_LINES.split(text)
    if len(blocks) == 1:  # no blank line: each line is a paragraph
        blocks = text.split("\n")
    paragraphs = (clean_line(block.replace("\n", " ")) for block in blocks)
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
        text = str(value).strip()
        # Profiled: dateutil took 8% of a bulk ingest, almost all on plain ISO dates.
        iso = _iso(text) if _ISO_DATE.fullmatch(text) else None
        try:
            parsed = iso or date_parser.parse(text)
        except (ValueError, OverflowError, TypeError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # "2019-02-30": dateutil has the last word, as before
        return None


def parse_lines(
    doc: Document, read_line: Callable[[str], ParsedArticle], *, unit: str, what: str
) -> Parsed:
    """Parse a bulk file one line at a time; a bad line becomes a warning naming it.

    ``read_line`` raises ``ValueError`` saying what is wrong with a line; anything else it
    raises (JSON nested too deeply, a bug) is caught too, so one hostile line never loses the
    file. Only when no line at all holds an article is the whole input an error (quoting
    the first few problems).
    """
    articles: list[ParsedArticle] = []
    warnings: list[str] = []
    for number, raw_bytes in enumerate(doc.data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        if not raw_bytes.strip():
            continue
        try:
            articles.append(read_line(raw_bytes.decode("utf-8").rstrip("\r")))
        except UnicodeDecodeError as exc:
            warnings.append(f"line {number}: not UTF-8 text (byte {exc.start})")
        except ValueError as exc:
            warnings.append(f"line {number}: {exc}")
        except RecursionError:
            warnings.append(f"line {number}: nested too deeply to read")
        except Exception as exc:  # a line no rule foresaw costs that line, not the file
            warnings.append(f"line {number}: could not be read ({type(exc).__name__}: {exc})")
    if not articles:
        if not warnings:
            raise ParseError(f"no {unit}s found: the file is empty")
        more = f" (and {len(warnings) - 3} more)" if len(warnings) > 3 else ""
        raise ParseError(f"no {unit} holds {what}: {'; '.join(warnings[:3])}{more}")
    return Parsed(articles=articles, warnings=warnings)
