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
from urllib.parse import urlsplit

__all__ = [
    "MAX_INT64",
    "clean_text",
    "has_nul",
    "safe_url",
    "xml_safe",
]

MAX_INT64 = 2**63 - 1  # the largest id, offset or count either database can hold

# C0 controls but tab, newline and carriage return; DEL; the C1 block; U+FFFE/U+FFFF.
# (XML 1.0 allows C1 and DEL, but no text has a use for them and they render as boxes.)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
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


def safe_url(url: str | None) -> str | None:
    """``url`` stripped, if it is an absolute http(s) URL with a host; None otherwise.

    Used wherever an article's link or image is built, so ``javascript:``, ``data:``,
    ``file:`` and scheme-relative junk never reach a page, the API or an Atom ``<link>``.
    """
    if not url:
        return None
    url = clean_text(url).strip()
    if any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc or not parts.hostname:
        return None
    return url
