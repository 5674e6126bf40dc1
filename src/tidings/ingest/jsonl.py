"""JSON Lines of articles: one JSON object per line, e.g. a scraper's or a dataset's export.

Each object gives ``title``, ``url``, ``published``, ``text`` and ``categories``, and may give
``id``, ``author``/``byline``, ``source``, ``key_points``, ``image`` (a URL or an object with
``url``/``caption``/``credit``), ``language`` and ``summary``/``description``. A bad line is
skipped with a warning naming it; the file fails only when no line holds an article.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tidings.ingest.text import clean_line, paragraphs_from_text, parse_date, parse_lines
from tidings.models import Document, Image, Parsed, ParsedArticle

# Keys that make a JSON object look like an article rather than any other record.
_ARTICLE_KEYS = ("title", "text", "url")
_KEY = re.compile(r'"(title|text|url)"\s*:')
# Warnings quoted in a ParseError when nothing was usable: enough to see the pattern.


def looks_like_jsonl(head: bytes) -> bool:
    """True if the first non-blank line is a JSON object with a title, text or url.

    ``head`` may stop inside the first line (long articles); then the line must open an object
    and name one of those keys. So must a first line nested too deeply to read: it is skipped
    with a warning, and the lines after it still go in. A JSON Feed on one line is not taken
    for JSON Lines.
    """
    for line in head.decode("utf-8-sig", errors="replace").splitlines(keepends=True):
        candidate = line.strip()
        if not candidate:
            continue
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError) as exc:
            if line.endswith(("\n", "\r")) and not isinstance(exc, RecursionError):
                return False
            # Cut off by the end of the head, or too deep: judge the line by its opening.
            return (
                candidate.startswith("{")
                and _KEY.search(candidate) is not None
                and "jsonfeed.org" not in candidate
            )
        return (
            isinstance(value, dict)
            and any(key in value for key in _ARTICLE_KEYS)
            and not _is_json_feed(value)
        )
    return False


def parse(doc: Document) -> Parsed:
    """Every usable line of a JSON Lines file as an article; bad lines become warnings."""
    return parse_lines(doc, _article, unit="line", what="an article")


def _article(raw: str) -> ParsedArticle:
    """One line as an article; ValueError says what is wrong with it."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply to read)") from None
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object but {_json_kind(value)}")
    title = clean_line(_text(value, "title"))
    paragraphs = _paragraphs(value.get("text"))
    summary = clean_line(_text(value, "summary") or _text(value, "description"))
    # A summary leads the text (like a standfirst) unless the text already says it.
    if summary and summary not in " ".join(paragraphs):
        paragraphs.insert(0, summary)
    if not title and not paragraphs:
        raise ValueError("has neither a title nor any text")
    return ParsedArticle(
        title=title or _title_from(paragraphs[0]),
        url=clean_line(_text(value, "url")) or None,
        external_id=_identifier(value.get("id")),
        key_points=_strings(value.get("key_points")),
        paragraphs=paragraphs,
        byline=_byline(value.get("author") or value.get("byline")),
        published=parse_date(_text(value, "published") or _text(value, "date")),
        language=clean_line(_text(value, "language")) or None,
        source=clean_line(_text(value, "source")) or None,
        image=_image(value.get("image")),
        labels=_labels(value.get("categories")),
        raw=raw,
    )


def _text(value: dict[str, Any], key: str) -> str:
    """A string field, or "" when it is missing; ValueError when it is not a string."""
    field = value.get(key)
    if field is None:
        return ""
    if isinstance(field, str):
        return field
    if isinstance(field, int | float) and not isinstance(field, bool) and key != "title":
        return str(field)
    raise ValueError(f"{key} is {_json_kind(field)}, not a string")


def _paragraphs(text: Any) -> list[str]:
    """Paragraphs from a text string (split at blank lines) or a list of paragraph strings."""
    if text is None:
        return []
    if isinstance(text, str):
        return paragraphs_from_text(text)
    if isinstance(text, list) and all(isinstance(p, str) for p in text):
        return [p for p in (clean_line(p) for p in text) if p]
    raise ValueError(f"text is {_json_kind(text)}, not a string or a list of strings")


def _strings(value: Any) -> list[str]:
    """A list of short texts (key points, labels) from a string or a list of strings."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return []
    return [s for s in (clean_line(str(i)) for i in items if isinstance(i, str | int)) if s]


def _labels(value: Any) -> list[str]:
    """Categories without repeats (case-insensitive), in the given order."""
    labels: list[str] = []
    seen: set[str] = set()
    for label in _strings(value):
        if label.casefold() not in seen:
            seen.add(label.casefold())
            labels.append(label)
    return labels


def _byline(value: Any) -> str | None:
    """An author string, or several authors joined with commas."""
    if isinstance(value, list):
        value = ", ".join(name for name in _strings(value))
    if isinstance(value, dict):
        value = value.get("name")
    if not isinstance(value, str):
        return None
    return clean_line(value) or None


def _identifier(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return clean_line(str(value)) or None
    return None


def _image(value: Any) -> Image | None:
    """The lead picture from a URL string or a ``{"url", "caption", "credit"}`` object."""
    if isinstance(value, str):
        return Image(url=clean_line(value)) if value.strip() else None
    if isinstance(value, dict):
        fields = {
            key: clean_line(item) or None
            for key in ("url", "caption", "credit")
            if isinstance(item := value.get(key), str)
        }
        return Image(**fields) if any(fields.values()) else None
    return None


def _title_from(paragraph: str, limit: int = 100) -> str:
    """A stand-in title for an article without one: the start of its first paragraph."""
    if len(paragraph) <= limit:
        return paragraph
    return paragraph[:limit].rsplit(" ", 1)[0] + "…"


def _is_json_feed(value: dict[str, Any]) -> bool:
    return "jsonfeed.org" in str(value.get("version", "")) or isinstance(value.get("items"), list)


def _json_kind(value: Any) -> str:
    """How JSON would name a value's type, for warnings."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
