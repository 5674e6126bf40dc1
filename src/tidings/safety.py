"""Text and URLs made safe at the door and on the way out.

Anything that comes in (a feed entry, a JSON line, a form field, a query parameter) may hold
characters that XML cannot carry (C0 controls such as ``\\x01``), that PostgreSQL refuses
(NUL) or that cannot be encoded at all (lone surrogates such as ``"\\ud800"``). Text is
normalised once where it enters, so nothing stored needs escaping beyond the usual; output
to XML still passes through :func:`xml_safe`, so a row written before this rule cannot break a
document either. Only http(s) URLs are kept for links and images: a ``javascript:`` or
``data:`` URL would run or embed whatever it carries in the reader's browser.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import quote, urlsplit

from tidings.models import Image, Media, ParsedArticle

__all__ = [
    "MAX_INT64",
    "clean_article",
    "clean_text",
    "has_nul",
    "has_surrogate",
    "safe_url",
    "xml_safe",
]

MAX_INT64 = 2**63 - 1  # the largest id, offset or count either database can hold

# C0 controls but tab, newline and carriage return; DEL; the C1 block; U+FFFE/U+FFFF.
# (XML 1.0 allows C1 and DEL, but no text has a use for them and they render as boxes.)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_ASCII_CONTROLS = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_SURROGATES = re.compile("[\ud800-\udfff]")
# An absolute http(s) URL of printable ASCII with a plain host name and no port: what
# safe_url would keep unchanged, recognised without taking it apart (most links are).
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?:[/?#][!-~]*)?")
_WHITESPACE = re.compile(r"\s")
_BROWSER_DROPS = re.compile("[\t\n\r]")
_SCHEMES = ("http", "https")


def clean_text(text: str) -> str:
    """``text`` without control characters (tab and line breaks stay) and with every lone
    surrogate replaced by U+FFFD, the replacement character. Clean text comes back as it is
    (the same object), so cleaning twice costs only the check."""
    if text.isascii():
        # The common case. Dropping the C0 controls and DEL from the bytes is a plain table
        # pass, three times faster than isprintable (profiled: the check is most of a bulk
        # ingest's cleaning), and it lets line breaks through, which isprintable does not.
        data = text.encode("ascii")
        if len(data.translate(None, _ASCII_CONTROLS)) == len(data):
            return text
        return _CONTROLS.sub("", text)
    if text.isprintable():
        return text
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))


def xml_safe(text: str) -> str:
    """:func:`clean_text`, named for where it is used: text about to be written as XML."""
    return clean_text(text)


def has_nul(text: str) -> bool:
    """Whether ``text`` holds a NUL, which PostgreSQL refuses in any text column."""
    return "\x00" in text


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, which no encoding can write."""
    return _SURROGATES.search(text) is not None


def safe_url(url: str | None) -> str | None:
    """``url`` stripped, if it is an absolute http(s) URL with a host; None otherwise.

    Used wherever an article's link or image is built, so ``javascript:``, ``data:``,
    ``file:`` and scheme-relative junk never reach a page, the API or an Atom ``<link>``.
    """
    if not url:
        return None
    if _PLAIN_URL.fullmatch(url):
        return url
    # As a browser reads an address: tabs and line breaks inside it are dropped, and any
    # other white space (an image file named with a space, say) is percent-encoded.
    url = _BROWSER_DROPS.sub("", clean_text(url).strip())
    if _WHITESPACE.search(url):
        url = _WHITESPACE.sub(lambda m: quote(m.group()), url)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc or not parts.hostname:
        return None
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in 0-65535
    except ValueError:
        return None
    return url


def clean_article(article: ParsedArticle) -> ParsedArticle:
    """``article`` with every text field passed through :func:`clean_text` and every URL
    through :func:`safe_url` (a link or picture that is not http(s) is dropped).

    The one door every stored article passes (``pipeline.parse`` and ``store.articles.save``
    both call it; it is idempotent), so no parser, full-text fetch or future input kind has
    to remember the rule. Empty paragraphs, key points and labels left by cleaning go. An
    article that is clean already comes back as it is, so the second pass costs only the
    checks.
    """
    title = clean_text(article.title)
    url = safe_url(article.url)
    external_id = _optional(article.external_id)
    key_points = _texts(article.key_points)
    paragraphs = _texts(article.paragraphs)
    byline = _optional(article.byline)
    language = _optional(article.language)
    source = _optional(article.source)
    image = _image(article.image)
    media = _all_media(article.media)
    labels = _texts(article.labels)
    raw = clean_text(article.raw)
    if (
        title is article.title
        and url is article.url
        and external_id is article.external_id
        and key_points is article.key_points
        and paragraphs is article.paragraphs
        and byline is article.byline
        and language is article.language
        and source is article.source
        and image is article.image
        and media is article.media
        and labels is article.labels
        and raw is article.raw
    ):
        return article
    # A new article owns its lists, as it always has: none is shared with the input.
    return replace(
        article,
        title=title,
        url=url,
        external_id=external_id,
        key_points=list(key_points),
        paragraphs=list(paragraphs),
        byline=byline,
        language=language,
        source=source,
        image=image,
        media=list(media),
        labels=list(labels),
        raw=raw,
    )


def _optional(text: str | None) -> str | None:
    return (clean_text(text) or None) if text else None


def _texts(texts: list[str]) -> list[str]:
    """The texts cleaned, without those left blank; the same list if nothing changes."""
    for text in texts:
        if clean_text(text) is not text or not text or text.isspace():
            break
    else:
        return texts
    return [t for t in (clean_text(t) for t in texts) if t.strip()]


def _image(image: Image | None) -> Image | None:
    if image is None:
        return None
    cleaned = Image(
        url=safe_url(image.url), caption=_optional(image.caption), credit=_optional(image.credit)
    )
    if not (cleaned.url or cleaned.caption or cleaned.credit):
        return None
    return image if cleaned == image else cleaned


def _all_media(media: list[Media]) -> list[Media]:
    # Rare, and a duration may change type (5.0 becomes 5): always rebuilt.
    return [_media(m) for m in media] if media else media


def _media(media: Media) -> Media:
    seconds = media.duration_seconds
    if isinstance(seconds, float) and seconds == seconds and abs(seconds) != float("inf"):
        seconds = round(seconds)
    if not isinstance(seconds, int) or not 0 <= seconds <= MAX_INT64:
        seconds = None  # NaN, infinite, negative or beyond what a database integer holds
    return Media(
        kind=clean_text(media.kind),
        title=_optional(media.title),
        duration_seconds=seconds,
        url=safe_url(media.url),
    )
