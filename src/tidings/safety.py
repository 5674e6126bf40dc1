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
_SURROGATES = re.compile("[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s")
_BROWSER_DROPS = re.compile("[\t\n\r]")
_SCHEMES = ("http", "https")


def clean_text(text: str) -> str:
    """``text`` without control characters (tab and line breaks stay) and with every lone
    surrogate replaced by U+FFFD, the replacement character."""
    if text.isprintable():  # the common case: nothing to do, and no regex pass
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
    to remember the rule. Empty paragraphs, key points and labels left by cleaning go.
    """
    return replace(
        article,
        title=clean_text(article.title),
        url=safe_url(article.url),
        external_id=_optional(article.external_id),
        key_points=_texts(article.key_points),
        paragraphs=_texts(article.paragraphs),
        byline=_optional(article.byline),
        language=_optional(article.language),
        source=_optional(article.source),
        image=_image(article.image),
        media=[_media(m) for m in article.media],
        labels=_texts(article.labels),
        raw=clean_text(article.raw),
    )


def _optional(text: str | None) -> str | None:
    return (clean_text(text) or None) if text else None


def _texts(texts: list[str]) -> list[str]:
    return [t for t in (clean_text(t) for t in texts) if t.strip()]


def _image(image: Image | None) -> Image | None:
    if image is None:
        return None
    cleaned = Image(
        url=safe_url(image.url), caption=_optional(image.caption), credit=_optional(image.credit)
    )
    return cleaned if cleaned.url or cleaned.caption or cleaned.credit else None


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
