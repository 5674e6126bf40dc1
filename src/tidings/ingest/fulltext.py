"""Full text for feeds that point to pages: when an entry carries only a summary, the page it
links to is fetched and its main text (via :mod:`tidings.ingest.webpage`) replaces the summary.

Each source has a mode: ``"auto"`` (the default) fetches the page only for entries whose text
looks like a summary, ``"always"`` for every entry with a link, ``"never"`` for none.

The same guards as every fetch hold (:mod:`tidings.ingest.fetch`: public addresses only
unless allowed, http and https, redirects capped), with tighter limits for a page than for a
feed: 5 MB, 10 s per network step and 20 s per page. One source fetches at most
``MAX_PAGES`` pages per poll, one after another, within ``BUDGET_SECONDS`` in all; entries
left over keep their summary this time and get their page on a later poll.

Pages are not fetched again for articles already stored with a text fuller than their feed's
summary: that stored text is kept (so a re-poll neither refetches nor overwrites it). A page
that fails (an HTTP error, a refused address, a timeout, no article text in it) leaves the
entry's summary as it is and adds a warning naming the URL; the rest of the feed goes in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tidings.errors import FetchError, ParseError
from tidings.models import Document, Image, ParsedArticle

Mode = Literal["auto", "always", "never"]
MODES: tuple[Mode, ...] = ("auto", "always", "never")
DEFAULT_MODE: Mode = "auto"

# When is an entry's text "just a summary"? Feeds that give the whole article (in
# content:encoded, an Atom content or a long RSS description) give several paragraphs and
# usually well over 500 characters; a teaser is a sentence or two in one block ("… Continue
# reading"). So in "auto" an entry is fetched when its text is a single paragraph (or none)
# or shorter than 500 characters. A long one-paragraph text is still taken for a summary:
# a whole article in one block is rare, and the page is only used when it says more.
SUMMARY_MAX_CHARS = 500
SUMMARY_MAX_PARAGRAPHS = 1

MAX_PAGES = 20  # page fetches per source per poll
BUDGET_SECONDS = 60.0  # all the page fetches of one source in one poll
PAGE_MAX_BYTES = 5 * 1024 * 1024
PAGE_TIMEOUT_SECONDS = 10.0  # each network step
PAGE_DEADLINE_SECONDS = 20.0  # one page, redirects included
_HTML_TYPES = ("text/html", "application/xhtml+xml")

FetchPage = Callable[[str, float, float], Document]  # (url, timeout, deadline) -> the page


@dataclass(frozen=True, slots=True)
class StoredBody:
    """What the store already holds of an entry's article: its text and what was taken
    from its page along with it."""

    paragraphs: list[str]
    byline: str | None = None
    image: Image | None = None
    key_points: list[str] = field(default_factory=list)
    language: str | None = None


@dataclass(slots=True)
class FullTextReport:
    """What :func:`complete` did for one feed."""

    fetched: int = 0  # pages whose text replaced an entry's summary
    kept: int = 0  # entries whose stored full text was kept (no page fetched)
    not_fuller: int = 0  # pages fetched that said no more than the summary
    failed: int = 0  # pages that could not be fetched or read (each has a warning)
    postponed: int = 0  # entries left for a later poll (page or time limit)
    warnings: list[str] = field(default_factory=list)


def check_mode(mode: str | None) -> Mode:
    """The mode, ``"auto"`` for None; raises :class:`ValueError` for an unknown one."""
    if mode is None:
        return DEFAULT_MODE
    if mode not in MODES:
        raise ValueError(f"full text must be one of {', '.join(MODES)}, not {mode!r}")
    return mode  # type: ignore[return-value]


def text_length(paragraphs: Sequence[str]) -> int:
    return sum(len(p) for p in paragraphs)


def is_summary(article: ParsedArticle) -> bool:
    """Whether an entry's text looks like a summary rather than the article (see above)."""
    return (
        len(article.paragraphs) <= SUMMARY_MAX_PARAGRAPHS
        or text_length(article.paragraphs) < SUMMARY_MAX_CHARS
    )


def wants_page(article: ParsedArticle, mode: str | None) -> bool:
    """Whether ``mode`` asks for the page of this entry (it must link to one)."""
    mode = check_mode(mode)
    if mode == "never" or not article.url or not article.url.startswith(("http://", "https://")):
        return False
    return mode == "always" or is_summary(article)


def fetch_page(url: str, timeout: float, deadline: float) -> Document:
    """GET one page under the fetcher's guards with the page limits."""
    from tidings.ingest.fetch import fetch

    return fetch(url, max_bytes=PAGE_MAX_BYTES, timeout=timeout, deadline=deadline)


def read_page(doc: Document) -> ParsedArticle:
    """The article of one fetched page; :class:`ParseError` if it is not a readable page."""
    from tidings.ingest import webpage

    content_type = (doc.content_type or "").split(";", 1)[0].strip().lower()
    if content_type and content_type not in _HTML_TYPES:
        raise ParseError(f"not a web page ({content_type})")
    return webpage.parse(doc).articles[0]


def complete(
    articles: Sequence[ParsedArticle],
    keys: Sequence[str],
    *,
    mode: str | None,
    stored: Mapping[str, StoredBody],
    fetch: FetchPage = fetch_page,
    max_pages: int = MAX_PAGES,
    budget: float = BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> FullTextReport:
    """Give the entries of one feed that ``mode`` asks it for their page's full text, in
    place. ``keys`` are the articles' identity keys (:func:`identity.identity_keys`) and
    ``stored`` what the store holds under those keys."""
    report = FullTextReport()
    give_up_at = clock() + budget
    pages = 0
    for article, key in zip(articles, keys, strict=True):
        if not wants_page(article, mode):
            continue
        known = stored.get(key)
        if known is not None and text_length(known.paragraphs) > text_length(article.paragraphs):
            _merge(article, known)  # fetched on an earlier poll: keep it, fetch nothing
            report.kept += 1
            continue
        remaining = give_up_at - clock()
        if pages >= max_pages or remaining <= 0:
            report.postponed += 1
            continue
        pages += 1
        assert article.url is not None
        try:
            page = read_page(
                fetch(
                    article.url,
                    min(PAGE_TIMEOUT_SECONDS, remaining),
                    min(PAGE_DEADLINE_SECONDS, remaining),
                )
            )
        except Exception as exc:  # refused, HTTP error, timeout, no article: keep the summary
            report.failed += 1
            if isinstance(exc, FetchError | ParseError):
                problem = str(exc)
            else:  # a parser bug: named, and the poll goes on
                problem = f"{type(exc).__name__}: {exc}"
            report.warnings.append(
                f"full text of {article.url} not fetched ({problem}); kept the feed's summary"
            )
            continue
        if text_length(page.paragraphs) <= text_length(article.paragraphs):
            report.not_fuller += 1
            continue
        _merge(article, page)
        report.fetched += 1
    if report.postponed:
        report.warnings.append(
            f"{report.postponed} entries kept their summary for now: at most {max_pages} pages "
            f"are fetched per poll, within {budget:g} s"
        )
    return report


def _merge(article: ParsedArticle, page: ParsedArticle | StoredBody) -> None:
    """The page's text in place of the summary; the feed's title, link, time and source
    stay, and the page fills in a byline, picture, key points and language the feed lacks."""
    article.paragraphs = list(page.paragraphs)
    article.byline = article.byline or page.byline
    article.image = article.image or page.image
    article.key_points = article.key_points or list(page.key_points)
    article.language = article.language or page.language
