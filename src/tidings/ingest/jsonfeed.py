"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/) into articles."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidings.errors import ParseError
from tidings.ingest.decoding import wide_encoding
from tidings.ingest.html_text import (
    UNTITLED,
    absolute_url,
    first_image,
    html_to_paragraphs,
    html_to_text,
    image_caption,
    is_teaser,
    title_from_paragraphs,
)
from tidings.ingest.text import clean_line, paragraphs_from_text, parse_date
from tidings.models import Document, Image, Media, Parsed, ParsedArticle

__all__ = ["looks_like_jsonfeed", "parse"]

_VERSION_PREFIX = "https://jsonfeed.org/version/"
_HEAD = 65536
_MAX_SNIFF_BYTES = 20 * 1024 * 1024  # pipeline.MAX_DOCUMENT_BYTES: no feed is larger


def looks_like_jsonfeed(data: bytes) -> bool:
    """True when ``data`` is a JSON object whose ``version`` names a JSON Feed version.

    Judged on the parsed value, not the bytes: PHP and WordPress escape every slash
    (``"https:\\/\\/jsonfeed.org\\/version\\/1.1"``). Only the first JSON value is read, so
    JSON Lines that mention a feed are not taken for one. JSON too broken (or too deep) to
    tell counts as a feed when its head names jsonfeed.org, so :func:`parse` can say what is
    wrong with it.
    """
    wide = wide_encoding(data[:256])
    head = data[:_HEAD]
    if wide:  # UTF-16/32: look at the head as UTF-8 (json.loads reads the whole either way)
        head = head.decode(wide, errors="ignore").encode("utf-8")
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return False
    named_in_head = b"jsonfeed.org" in head
    if not named_in_head and (wide or b"jsonfeed.org" not in data):  # most JSON is no feed
        return False
    if len(data) > _MAX_SNIFF_BYTES:  # too large to read just to tell; parse() refuses it
        return named_in_head
    try:
        text = data.decode(json.detect_encoding(data)).removeprefix("\ufeff").lstrip()
        first, _ = json.JSONDecoder().raw_decode(text)
    except RecursionError:
        return named_in_head
    except ValueError:  # not JSON (UnicodeDecodeError is a ValueError too)
        return named_in_head
    return isinstance(first, dict) and _names_a_version(first.get("version"))


def _names_a_version(version: object) -> bool:
    return isinstance(version, str) and "jsonfeed.org/version" in version


def parse(doc: Document) -> Parsed:
    """Every item of a JSON Feed as an article.

    Raises :class:`ParseError` for bytes that are not JSON, or JSON that is not a feed. An
    item that cannot be read is skipped with a warning.
    """
    try:
        # json.loads detects UTF-8/16/32 and a UTF-8 byte-order mark by itself.
        payload = json.loads(doc.data)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc.msg}, line {exc.lineno}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ParseError("not valid JSON: nested too deeply to read") from exc
    if not isinstance(payload, dict):
        raise ParseError(
            f"not a JSON Feed: the top level is a {_json_type(payload)}, not an object"
        )
    items = payload.get("items")
    if not isinstance(items, list):
        raise ParseError('not a JSON Feed: no "items" list')

    warnings: list[str] = []
    version = payload.get("version")
    if not (isinstance(version, str) and version.startswith(_VERSION_PREFIX)):
        warnings.append(f"unknown JSON Feed version {version!r}; read as 1.1")
    feed = _Feed(payload, doc.url)
    if not items:
        warnings.append("feed has no items")

    articles = []
    for index, item in enumerate(items, start=1):
        try:
            if not isinstance(item, dict):
                raise TypeError(f"item is a {_json_type(item)}, not an object")
            articles.append(_article(item, feed))
        except RecursionError:
            warnings.append(f"skipped item {_name_item(item, index)}: nested too deeply to read")
        except Exception as exc:  # one bad item must not cost the reader the whole feed
            warnings.append(f"skipped item {_name_item(item, index)}: {type(exc).__name__}: {exc}")
    return Parsed(articles=articles, warnings=warnings, title=feed.title)


class _Feed:
    """What every item inherits from the feed."""

    __slots__ = ("authors", "base", "language", "title")

    def __init__(self, payload: Mapping[str, Any], doc_url: str | None) -> None:
        self.title = _line(payload.get("title")) or None
        # Relative item URLs are relative to the feed's own address.
        self.base = (
            absolute_url(payload.get("feed_url"), doc_url)
            or doc_url
            or absolute_url(payload.get("home_page_url"))
        )
        self.language = _line(payload.get("language")) or None
        self.authors = _authors(payload)


def _article(item: Mapping[str, Any], feed: _Feed) -> ParsedArticle:
    url = absolute_url(item.get("url"), feed.base) or absolute_url(
        item.get("external_url"), feed.base
    )
    base = url or feed.base
    content_html = _string(item.get("content_html"))
    content_text = _string(item.get("content_text"))
    summary_text = _string(item.get("summary"))
    summary = paragraphs_from_text(summary_text) if summary_text.strip() else []

    if content_html.strip():
        paragraphs = html_to_paragraphs(content_html, base)
    elif content_text.strip():
        paragraphs = paragraphs_from_text(content_text)
    else:
        paragraphs = []
    key_points: list[str] = []
    if paragraphs and is_teaser(summary, paragraphs):
        key_points = [" ".join(summary)]
    if not paragraphs:
        paragraphs = summary

    title = _line(item.get("title"))
    if not title:
        title = title_from_paragraphs(paragraphs)

    return ParsedArticle(
        title=title,
        url=url,
        external_id=clean_line(_string(item.get("id"))) or None,
        key_points=key_points,
        paragraphs=paragraphs,
        byline=", ".join(_authors(item) or feed.authors) or None,
        published=parse_date(_string(item.get("date_published")))
        or parse_date(_string(item.get("date_modified"))),
        language=_line(item.get("language")) or feed.language,
        source=feed.title,
        image=_image(item, content_html, base),
        media=_media(item, title, base),
        labels=_labels(item.get("tags")),
        raw=json.dumps(item, ensure_ascii=False, default=str),
    )


def _string(value: object) -> str:
    # JSON Feed says strings; real feeds sometimes send numbers (ids) or null.
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value)


def _line(value: object) -> str:
    text = _string(value)
    if "<" in text and ">" in text:  # some publishers put markup in titles anyway
        return html_to_text(text)
    return clean_line(" ".join(text.split()))


def _authors(obj: Mapping[str, Any]) -> list[str]:
    """Names from 1.1 ``authors`` or 1.0 ``author``."""
    people = obj.get("authors")
    if not isinstance(people, list):
        people = [obj.get("author")]
    names: list[str] = []
    for person in people:
        name = _line(person.get("name")) if isinstance(person, dict) else ""
        if name and name not in names:
            names.append(name)
    return names


def _image(item: Mapping[str, Any], content_html: str, base: str | None) -> Image | None:
    for key in ("image", "banner_image"):
        url = absolute_url(item.get(key), base)
        if url:
            caption = image_caption(content_html, url, base) if content_html else None
            return Image(url=url, caption=caption)
    url = first_image(content_html, base) if content_html else None
    if url:
        return Image(url=url, caption=image_caption(content_html, url, base))
    return None


def _media(item: Mapping[str, Any], title: str, base: str | None) -> list[Media]:
    attachments = item.get("attachments")
    if not isinstance(attachments, list):
        return []
    found: list[Media] = []
    seen: set[str] = set()
    for attachment in attachments:
        if not isinstance(attachment, dict):
            continue
        url = absolute_url(attachment.get("url"), base)
        kind = _string(attachment.get("mime_type")).split("/", 1)[0].lower()
        if not url or url in seen or kind not in ("audio", "video"):
            continue
        seen.add(url)
        found.append(
            Media(
                kind=kind,
                title=_line(attachment.get("title")) or (title if title != UNTITLED else None),
                duration_seconds=_seconds(attachment.get("duration_in_seconds")),
                url=url,
            )
        )
    return found


def _seconds(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return round(seconds) if 0 <= seconds < 10**7 else None


def _labels(tags: object) -> list[str]:
    if not isinstance(tags, list):
        return []
    labels: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        name = _line(tag)
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            labels.append(name)
    return labels


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number"
    )


def _name_item(item: object, index: int) -> str:
    if isinstance(item, dict):
        label = _string(item.get("title") or item.get("id"))[:80]
        if label:
            return f"{index} ({label!r})"
    return str(index)
