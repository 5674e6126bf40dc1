"""RSS 0.9x/1.0/2.0 and Atom feeds (via fastfeedparser or feedparser) into :class:`ParsedArticle` s.

Most feeds are read fast by :mod:`tidings.ingest.fastfeed` (lxml); whatever it cannot read
exactly as feedparser would goes to feedparser, so both give the same articles.

feedparser does the forgiving XML work (encodings, broken markup, namespaces, relative
URIs); this module decides what each entry means to a reader: which text is the body,
which picture leads, which enclosures are audio or video, which categories are labels.

feedparser's own HTML sanitiser and relative-URI rewriting are switched off: both re-parse
every HTML field in pure Python (31 s of a 20 MB feed's 32), and both are done here anyway
(nh3 sanitises, :func:`absolute_url` resolves against the entry's base). Each HTML field is
parsed once (:class:`Fragment`), and a per-document time budget (:mod:`tidings.ingest.budget`)
bounds the rest: entries left when it runs out are skipped with a warning naming them.
"""

from __future__ import annotations

import io
import json
import mimetypes
import re
import time
import xml.sax
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from tidings.errors import ParseError
from tidings.ingest import fastfeed, feedsax, jsonfeed
from tidings.ingest.budget import Budget
from tidings.ingest.html_text import (
    UNTITLED,
    Fragment,
    absolute_url,
    html_to_text,
    is_teaser,
    title_from_paragraphs,
)
from tidings.ingest.markup import MAX_DEPTH
from tidings.ingest.text import clean_line, paragraphs_from_text, parse_date
from tidings.models import Document, Image, Media, Parsed, ParsedArticle

__all__ = ["parse"]

_XML_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
# Not problems with the feed itself: feedparser flags them as bozo but parsed it fully.
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
# SAX drivers feedparser tries, in order: ours first (see feedsax), then its own default.
feedparser.api.PREFERRED_XML_PARSERS[:0] = [
    name for name in [feedsax.__name__] if name not in feedparser.api.PREFERRED_XML_PARSERS
]
_BR_END_TAG = re.compile(r"</br\s*>", re.IGNORECASE)
# Character references to no character (a UTF-16 surrogate, or past U+10FFFF): feedparser's
# loose parser raises on them and the whole feed would be lost. They become U+FFFD.
_BAD_CHARACTER_REFERENCE = re.compile(
    rb"""&\#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|1[1-9a-fA-F][0-9a-fA-F]{4}
                     |[2-9a-fA-F][0-9a-fA-F]{5}|[1-9a-fA-F][0-9a-fA-F]{6,})
              |0*(?:5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}|573[0-3][0-9]|5734[0-3]
                   |111411[2-9]|11141[2-9][0-9]|1114[2-9][0-9]{2}|111[5-9][0-9]{3}
                   |11[2-9][0-9]{4}|1[2-9][0-9]{5}|[2-9][0-9]{6}|[1-9][0-9]{7,}));""",
    re.VERBOSE,
)
_SCALARS = frozenset({str, int, float, bool, type(None)})
# Category terms that are machine identifiers (Blogger's "kind#post"), not topics.
_URL_LIKE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|tag:|urn:)", re.IGNORECASE)


def parse(doc: Document, budget: Budget | None = None, *, fast: bool = True) -> Parsed:
    """Every entry of an RSS or Atom feed as an article; JSON Feeds are handed on.

    With ``fast`` the feed is first read by :mod:`tidings.ingest.fastfeed`, which hands it to
    feedparser whenever it cannot read it exactly as feedparser would; ``fast=False`` is
    feedparser alone, for comparison.

    Raises :class:`ParseError` when the bytes are not a feed. A feed that is broken but
    readable, an empty feed, or a single entry that cannot be read gives a warning instead;
    so do entries skipped because the document ran out of ``budget`` (default: a new one).
    """
    if jsonfeed.looks_like_jsonfeed(doc.data):
        return jsonfeed.parse(doc)
    budget = budget or Budget()
    headers: dict[str, str] = {}
    if doc.url:
        headers["content-location"] = doc.url
    if doc.content_type:
        headers["content-type"] = doc.content_type
    data, entries_found, flattened = prepare(doc.data)
    fast_feed = fastfeed.read(data) if fast and _plain_xml(doc.content_type) else None
    if isinstance(fast_feed, fastfeed.FastFeed):
        result: Mapping[str, Any] = {
            "version": fast_feed.version,
            "entries": fast_feed.entries,
            "feed": fast_feed.feed,
        }
    else:
        try:
            # A stream, never the bytes: feedparser would open bytes that name a local path.
            result = feedparser.parse(
                io.BytesIO(data),
                response_headers=headers or None,
                sanitize_html=False,  # nh3 does it, once, in html_text
                resolve_relative_uris=False,  # absolute_url does it for the links we keep
            )
        except Exception as exc:  # feedparser is forgiving; anything escaping it means "not a feed"
            raise ParseError(f"not a feed: {type(exc).__name__}: {exc}") from exc

    warnings: list[str] = []
    if entries_found:
        warnings.append(
            f"feed has {entries_found} entries: only the first {feedsax.MAX_ENTRIES} were read"
        )
    if flattened:
        warnings.append(
            f"feed: XML nested more than {MAX_DEPTH} levels deep was flattened "
            f"({flattened} tags removed)"
        )
    version = result.get("version") or ""
    entries = result.get("entries") or []
    bozo = result.get("bozo_exception") if result.get("bozo") else None
    serious = bozo is not None and not isinstance(bozo, _HARMLESS_BOZO)
    if not entries:
        if not version:
            raise ParseError(f"not a feed: {_not_a_feed_reason(doc.data, bozo)}")
        if serious:
            raise ParseError(
                f"broken {_describe(version)} feed, no entries readable: {_explain(bozo)}"
            )
    if bozo is not None:
        if serious:
            warnings.append(f"feed is not well-formed ({_explain(bozo)}); read what could be read")
        else:
            warnings.append(f"feed: {_explain(bozo)}")
    feed = result.get("feed") or {}
    feed_title = _text_of(feed.get("title_detail"), feed.get("title")) or None
    if not entries:
        warnings.append("feed has no entries")

    context = _FeedContext(
        title=feed_title,
        base=doc.url or absolute_url(feed.get("link")),
        language=_feed_language(feed),
    )
    articles = []
    for index, entry in enumerate(entries, start=1):
        if budget.exhausted:
            warnings.append(_skipped_entries(entries, index, budget))
            break
        try:
            articles.append(_article(entry, context, _EntryNotes(index, entry, budget, warnings)))
        except Exception as exc:  # one bad entry must not cost the reader the whole feed
            warnings.append(
                f"skipped entry {_name_entry(entry, index)}: {type(exc).__name__}: {exc}"
            )
    return Parsed(articles=articles, warnings=warnings, title=feed_title)


def _plain_xml(content_type: str | None) -> bool:
    """Whether the HTTP type leaves the encoding to the document, as the fast reader does;
    feedparser warns about, or decodes by, any other (text/xml defaults to ASCII)."""
    if not content_type:
        return True
    kind, _, params = content_type.lower().partition(";")
    charset = params.partition("charset=")[2].strip().strip("\"'")
    return kind.strip() in _XML_TYPES and charset in ("", "utf-8")


def prepare(data: bytes) -> tuple[bytes, int, int]:
    """``data`` bounded and repaired for either reader: the entries kept (and how many there
    were, 0 when none was cut), impossible character references replaced, XML nested too
    deeply flattened (and how many tags that removed)."""
    data, entries_found = feedsax.keep_entries(_trim(data))
    data = _BAD_CHARACTER_REFERENCE.sub(b"&#xFFFD;", data)
    data, flattened = feedsax.flatten_xml(data)
    return data, entries_found, flattened


def _skipped_entries(entries: list[Any], first: int, budget: Budget) -> str:
    """The warning for entries ``first``… left unread when the budget ran out."""
    left = entries[first - 1 :]
    names = ", ".join(_name_entry(e, i) for i, e in enumerate(left[:3], start=first))
    more = f" and {len(left) - 3} more" if len(left) > 3 else ""
    return (
        f"skipped entries {first}–{len(entries)} of {len(entries)} ({names}{more}): "
        f"reading the feed took {budget.describe()}"
    )


def _trim(data: bytes) -> bytes:
    """``data`` without blank lines before its XML declaration.

    Many generators emit a newline before ``<?xml``, which the strict XML parser rejects;
    feedparser would then fall back to its loose parser and call a sound feed malformed.
    """
    stripped = data.lstrip(b" \t\r\n")
    # Only for ASCII-compatible encodings: in UTF-16 the declaration would not match.
    return stripped if stripped is not data and stripped.startswith(b"<?xml") else data


@dataclass(frozen=True, slots=True)
class _FeedContext:
    """What every entry inherits from its feed."""

    title: str | None
    base: str | None  # for resolving relative links
    language: str | None


class _EntryNotes:
    """One entry's share of the document budget, its parsed HTML fields and its warnings."""

    def __init__(
        self, index: int, entry: Mapping[str, Any], budget: Budget, warnings: list[str]
    ) -> None:
        self.index = index
        self.entry = entry
        self.budget = budget
        self.warnings = warnings
        self.fragments: dict[str, Fragment] = {}
        self.skipped: list[str] = []

    def fragment(self, html: str) -> Fragment:
        """The parsed field, parsed once however often it is asked for (a description is
        often both body and summary)."""
        if html not in self.fragments:
            fragment = self.fragments[html] = Fragment(html)
            if fragment.flattened:
                self.warnings.append(
                    f"entry {_name_entry(self.entry, self.index)}: markup nested more than "
                    f"{MAX_DEPTH} levels deep was flattened ({fragment.flattened} tags removed)"
                )
        return self.fragments[html]

    def may(self, what: str) -> bool:
        """Whether there is budget left for the next field; if not, it is noted as skipped."""
        if self.budget.exhausted:
            self.skipped.append(what)
            return False
        return True

    def finish(self) -> None:
        if self.skipped:
            self.warnings.append(
                f"entry {_name_entry(self.entry, self.index)}: {' and '.join(self.skipped)} "
                f"skipped: reading the feed took {self.budget.describe()}"
            )


def _article(entry: Mapping[str, Any], feed: _FeedContext, notes: _EntryNotes) -> ParsedArticle:
    url = _entry_url(entry, feed.base)
    content_base = _content_base(entry) or feed.base or url
    body_html, body_is_html, from_content = _body(entry)
    paragraphs = (
        list(notes.fragment(body_html).paragraphs)
        if body_is_html
        else paragraphs_from_text(body_html)
    )
    summary = _summary_paragraphs(entry, notes) if notes.may("summary") else []

    key_points: list[str] = []
    if from_content and is_teaser(summary, paragraphs):
        key_points = [" ".join(summary)]
    if not paragraphs and summary:
        paragraphs = summary

    title = _text_of(entry.get("title_detail"), entry.get("title"))
    if not title:
        title = title_from_paragraphs(paragraphs)

    article = ParsedArticle(
        title=title,
        url=url,
        external_id=clean_line(str(entry.get("id") or "")) or None,
        key_points=key_points,
        paragraphs=paragraphs,
        byline=_byline(entry),
        published=_published(entry),
        language=_entry_language(entry) or feed.language,
        source=feed.title or _entry_source(entry),
        image=_image(entry, body_html if body_is_html else "", content_base, notes),
        media=_media(entry, title, content_base),
        labels=_labels(entry.get("tags") or []),
        raw=json.dumps(_jsonable(entry), ensure_ascii=False, default=str),
    )
    notes.finish()
    return article


# --- text -------------------------------------------------------------------------------


def _text_of(detail: Mapping[str, Any] | None, value: object) -> str:
    """A one-line text from a feedparser ``*_detail`` (HTML stripped when it is HTML)."""
    text = str(value or "")
    if not text.strip():
        return ""
    if detail and _is_html(detail.get("type")):
        return html_to_text(_as_html(text, detail.get("type")))
    return clean_line(" ".join(text.split()))


def _body(entry: Mapping[str, Any]) -> tuple[str, bool, bool]:
    """The fullest body text: (text, is it HTML, did it come from content rather than summary).

    Feeds often carry both content:encoded and an Atom content, or a short description
    beside the full text; the longest content wins.
    """
    contents = [c for c in entry.get("content") or [] if str(c.get("value") or "").strip()]
    if contents:
        best = max(contents, key=lambda c: len(str(c.get("value") or "")))
        value = str(best["value"])
        return _as_html(value, best.get("type")), _is_html(best.get("type")), True
    detail = entry.get("summary_detail") or {}
    kind = detail.get("type", "text/html")
    return _as_html(str(entry.get("summary") or ""), kind), _is_html(kind), False


def _summary_paragraphs(entry: Mapping[str, Any], notes: _EntryNotes) -> list[str]:
    summary = str(entry.get("summary") or "")
    if not summary.strip():
        return []
    kind = (entry.get("summary_detail") or {}).get("type", "text/html")
    if _is_html(kind):
        return list(notes.fragment(_as_html(summary, kind)).paragraphs)
    return paragraphs_from_text(summary)


def _is_html(content_type: object) -> bool:
    return str(content_type or "").lower() in _HTML_TYPES


def _as_html(markup: str, content_type: object) -> str:
    """Inline XHTML as HTML. feedparser writes an XHTML ``<br/>`` back as ``<br></br>``, and
    HTML reads ``</br>`` as a second break (its own sanitiser, now off, used to tidy that)."""
    if "xhtml" in str(content_type or "").lower():
        return _BR_END_TAG.sub("", markup)
    return markup


# --- links and people -------------------------------------------------------------------


def _entry_url(entry: Mapping[str, Any], base: str | None) -> str | None:
    # feedparser already resolved against xml:base / content-location when it had one.
    url = absolute_url(entry.get("link"), base)
    if url:
        return url
    for link in entry.get("links") or []:
        if link.get("rel", "alternate") == "alternate":
            url = absolute_url(link.get("href"), base)
            if url:
                return url
    if entry.get("guidislink") or _URL_LIKE.match(str(entry.get("id") or "")):
        return absolute_url(entry.get("id"), base)
    return None


def _content_base(entry: Mapping[str, Any]) -> str | None:
    for detail in [*(entry.get("content") or []), entry.get("summary_detail") or {}]:
        base = absolute_url(detail.get("base"))
        if base:
            return base
    return None


def _byline(entry: Mapping[str, Any]) -> str | None:
    """Authors' names, joined. Bare e-mail addresses are not bylines."""
    names: list[str] = []
    for author in entry.get("authors") or []:
        name = clean_line(str(author.get("name") or ""))
        if name and not _is_email(name) and name not in names:
            names.append(name)
    if not names:
        name = clean_line(str(entry.get("author") or ""))
        if name and not _is_email(name):
            names.append(name)
    return ", ".join(names) or None


def _is_email(text: str) -> bool:
    return "@" in text and " " not in text


def _entry_source(entry: Mapping[str, Any]) -> str | None:
    source = entry.get("source") or {}
    return clean_line(str(source.get("title") or "")) or None


# --- dates and language -----------------------------------------------------------------


def _published(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        when = parse_date(entry.get(key))
        if when:
            return when
    for key in ("published", "updated", "created"):
        when = parse_date(entry.get(key))
        if when:
            return when
    return None


def _entry_language(entry: Mapping[str, Any]) -> str | None:
    details = [
        *(entry.get("content") or []),
        entry.get("summary_detail"),
        entry.get("title_detail"),
    ]
    for detail in details:
        if detail and detail.get("language"):
            return clean_line(str(detail["language"])) or None
    return None


def _feed_language(feed: Mapping[str, Any]) -> str | None:
    if feed.get("language"):
        return clean_line(str(feed["language"])) or None
    for key in ("title_detail", "subtitle_detail"):
        detail = feed.get(key) or {}
        if detail.get("language"):
            return clean_line(str(detail["language"])) or None
    return None


# --- pictures and media -----------------------------------------------------------------


def _kind(medium: object, mime: object, url: str) -> str | None:
    """Whether ``url`` is an image, audio or video: by Media RSS medium, MIME type or extension."""
    medium = str(medium or "").lower()
    if medium in ("image", "audio", "video"):
        return medium
    mime = str(mime or "").lower()
    if not mime:
        mime = mimetypes.guess_type(urlsplit(url).path)[0] or ""
    if mime == "application/x-shockwave-flash":  # old video embeds (YouTube's media:content)
        return "video"
    major = mime.split("/", 1)[0]
    return major if major in ("image", "audio", "video") else None


def _image(
    entry: Mapping[str, Any], body_html: str, base: str | None, notes: _EntryNotes
) -> Image | None:
    """The lead picture: Media RSS content, thumbnail, image enclosure, iTunes, then <img>."""
    credit = _credit(entry)
    if body_html and "<" in body_html and not notes.may("picture"):
        body_html = ""  # out of time: no <img> or caption from the body
    body = notes.fragment(body_html) if body_html and "<" in body_html else None
    candidates: list[tuple[int, str]] = []
    for item in entry.get("media_content") or []:
        url = absolute_url(item.get("url"), base)
        if url and _kind(item.get("medium"), item.get("type"), url) == "image":
            candidates.append((_int(item.get("width")) or 0, url))
    if candidates:
        # Several sizes of one picture are common (the Guardian sends 140 and 460 px).
        url = (
            max(candidates, key=lambda c: c[0])[1]
            if any(w for w, _ in candidates)
            else candidates[0][1]
        )
        return Image(url=url, caption=_caption(body, url, base), credit=credit)
    thumbnails = [
        (_int(t.get("width")) or 0, absolute_url(t.get("url"), base))
        for t in entry.get("media_thumbnail") or []
    ]
    thumbnails = [(w, u) for w, u in thumbnails if u]
    if thumbnails:
        url = max(thumbnails, key=lambda t: t[0])[1]
        return Image(url=url, caption=_caption(body, url, base), credit=credit)
    for enclosure in entry.get("enclosures") or []:
        url = absolute_url(enclosure.get("href"), base)
        if url and _kind(None, enclosure.get("type"), url) == "image":
            return Image(url=url, caption=_caption(body, url, base), credit=credit)
    itunes = absolute_url((entry.get("image") or {}).get("href"), base)
    if itunes:
        return Image(url=itunes, credit=credit)
    url = body.first_image(base) if body is not None else None
    if url:
        return Image(url=url, caption=_caption(body, url, base), credit=credit)
    return None


def _caption(body: Fragment | None, url: str, base: str | None) -> str | None:
    # feedparser folds media:description and media:title into the entry's own summary and
    # title, so the only caption to be had is what the body says about the same picture.
    return body.image_caption(url, base) if body is not None else None


def _credit(entry: Mapping[str, Any]) -> str | None:
    for credit in entry.get("media_credit") or []:
        text = clean_line(str(credit.get("content") or ""))
        if text:
            return text
    return clean_line(str(entry.get("credit") or "")) or None


def _media(entry: Mapping[str, Any], title: str, base: str | None) -> list[Media]:
    """Audio and video attached to the entry: enclosures, then Media RSS content."""
    found: list[Media] = []
    seen: set[str] = set()
    itunes_seconds = _duration(entry.get("itunes_duration"))

    def add(kind: str | None, url: str | None, item_title: object, seconds: int | None) -> None:
        if kind not in ("audio", "video") or not url or url in seen:
            return
        seen.add(url)
        name = clean_line(str(item_title or "")) or (title if title != UNTITLED else None)
        found.append(Media(kind=kind, title=name, duration_seconds=seconds, url=url))

    for enclosure in entry.get("enclosures") or []:
        url = absolute_url(enclosure.get("href"), base)
        if url:
            add(_kind(None, enclosure.get("type"), url), url, None, itunes_seconds)
    for item in entry.get("media_content") or []:
        url = absolute_url(item.get("url"), base)
        if url:
            kind = _kind(item.get("medium"), item.get("type"), url)
            seconds = _duration(item.get("duration")) or itunes_seconds
            add(kind, url, item.get("title"), seconds)
    return found


def _duration(value: object) -> int | None:
    """Seconds from iTunes ("1:02:03", "12:34", "754") or Media RSS ("754.5") durations."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        seconds = 0.0
        for part in text.split(":"):
            seconds = seconds * 60 + float(part)
    except ValueError:
        return None
    if not 0 <= seconds < 10**7:  # also rejects NaN and inf
        return None
    return round(seconds)


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


# --- labels -------------------------------------------------------------------------------


def _labels(tags: Iterable[Mapping[str, Any]]) -> list[str]:
    """Category names, cleaned and deduplicated; identifiers that are URLs are left out."""
    labels: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        # Atom's label is the human-readable name; term is often a slug or identifier.
        name = clean_line(" ".join(str(tag.get("label") or tag.get("term") or "").split()))
        # PHP's addslashes leaks into some WordPress feeds ("angie\'s list").
        name = name.replace("\\'", "'").replace('\\"', '"').strip("/ ")
        if not name or _URL_LIKE.match(name) or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        labels.append(name)
    return labels


# --- errors and raw ---------------------------------------------------------------------


def _explain(exc: BaseException) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return f"{exc.getMessage()}, line {exc.getLineNumber()}"
    return str(exc) or type(exc).__name__


def _describe(version: str) -> str:
    """Atom, RSS or CDF from feedparser's version ("atom10", "rss092", …)."""
    for prefix, name in (("atom", "Atom"), ("rss", "RSS"), ("cdf", "CDF")):
        if version.startswith(prefix):
            return name
    return version


def _not_a_feed_reason(data: bytes, bozo: BaseException | None) -> str:
    head = data[:2048].lstrip().lower()
    if not head:
        return "the document is empty"
    if b"<html" in head or b"<!doctype html" in head or head.startswith(b"<head"):
        return "it is an HTML page"
    if bozo is not None:
        return _explain(bozo)
    return "no RSS, RDF or Atom root element"


def _name_entry(entry: Mapping[str, Any], index: int) -> str:
    try:
        label = clean_line(str(entry.get("title") or entry.get("id") or ""))[:80]
    except Exception:
        label = ""
    return f"{index} ({label!r})" if label else str(index)


def _jsonable(value: Any) -> Any:
    """``value`` with struct_time as ISO 8601 and every container a plain dict or list."""
    if type(value) in _SCALARS:  # most of an entry; checking each against the ABCs is slow
        return value
    if isinstance(value, time.struct_time):
        try:
            return datetime(*value[:6], tzinfo=UTC).isoformat()
        except (ValueError, OverflowError):
            return None
    if isinstance(value, dict | Mapping):  # feedparser's dicts are dicts: no ABC check
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
