"""What makes two inputs the same article: a canonical URL and a content hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from tidings.ingest.text import clean_line
from tidings.models import ParsedArticle

# Query parameters that only say how a reader arrived (campaigns, click ids, share
# widgets); they never change which article a URL points to.
_TRACKING_PREFIXES = ("utm_", "mc_", "ns_", "at_", "pk_", "hmb_", "ga_", "_hs", "oly_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "twclid", "ttclid", "li_fat_id", "mkt_tok", "_ga", "_gl", "ocid", "cmpid", "cmp",
        "smid", "smtyp", "sr_share", "share", "spm", "guccounter", "guce_referrer",
        "guce_referrer_sig", "ref_src", "ref_url", "s_cid", "ito", "xtor", "wt.mc_id",
        "__twitter_impression", "soc_src", "soc_trk", "rss", "feedtype", "cid",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_KEY = 1900  # stays well inside an index entry on both backends


# An http(s) URL that is canonical as it stands: a lower-case host with no port or user, a
# path, and nothing for the slow path to drop (no query, fragment or white space). Most
# bulk-ingested URLs are; matching them is ten times cheaper than taking them apart.
_PLAIN = re.compile(r"https?://[a-z0-9.-]*[a-z0-9-]/[!$%&'()*+,\-./0-9:;=@A-Z_a-z~]*")


def canonical_url(url: str) -> str:
    """The URL with tracking parameters, fragment, default port and case noise removed."""
    if _PLAIN.fullmatch(url):
        return url
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # "http://[::1" or a port out of range: keep the URL as it is
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    netloc = host
    if port and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def content_hash(title: str, paragraphs: Iterable[str]) -> str:
    """SHA-256 of the headline and body, case- and whitespace-insensitive."""
    text = "\n".join([clean_line(title), *map(clean_line, paragraphs)])
    # ASCII text (most of it) is case-folded as bytes: the same result, several times faster.
    data = text.encode("ascii").lower() if text.isascii() else text.casefold().encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def has_substantial_content(paragraphs: Iterable[str]) -> bool:
    """Whether a body is long enough that equal hashes mean the same article.

    Short bodies (a one-line teaser, an empty podcast note) repeat across distinct
    items, so only a real body may merge two URLs into one article.
    """
    return sum(len(p) for p in paragraphs) >= 280


def identity_keys(articles: list[ParsedArticle], kind: str) -> list[str]:
    """The canonical key of each article of one input, in order.

    Usually the canonical URL. When entries of one feed share a link but carry distinct
    ids (podcast episodes all linking to the show's page), each entry's id is folded in
    so they stay distinct. Articles with no URL are keyed by their id or content.
    """
    canonical = [canonical_url(a.url) if a.url else None for a in articles]
    counts: dict[str, set[str | None]] = {}
    for key, article in zip(canonical, articles, strict=True):
        if key:
            counts.setdefault(key, set()).add(article.external_id)
    keys: list[str] = []
    for key, article in zip(canonical, articles, strict=True):
        if key and len(counts[key]) > 1 and article.external_id:
            key = f"{key}#id={quote(article.external_id, safe='')}"
        elif not key:
            key = _urn(article, kind)
        keys.append(key if len(key) <= _MAX_KEY else _shorten(key))
    return keys


def _urn(article: ParsedArticle, kind: str) -> str:
    if article.external_id:
        return f"urn:tidings:{kind}:{quote(article.external_id, safe='')}"
    return f"urn:tidings:sha256:{content_hash(article.title, article.paragraphs)}"


_SLUG = re.compile(r"[^\w]+")


def _shorten(key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: _MAX_KEY - 70]}#sha256={digest}"


def slug(name: str) -> str:
    """A stable, readable id part: ``North Korea`` → ``north-korea``."""
    # Cut long labels (some feeds put sentences in categories) to fit the topic id column.
    return _SLUG.sub("-", name.casefold()).strip("-_")[:200].rstrip("-_") or "untitled"
