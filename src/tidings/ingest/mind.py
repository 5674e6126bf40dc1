"""MIND ``news.tsv``: the news file of the Microsoft News Dataset, one article per row.

Columns, tab separated and without a header: news id, category, subcategory, title, abstract,
URL, title entities, abstract entities (the last two are JSON lists; files cut down to 6 or 7
columns occur). Categories are kept as MIND's own codes ("news", "newspolitics"). A bad row is
skipped with a warning naming its line.
"""

from __future__ import annotations

import re

from tidings.ingest.text import clean_line, parse_lines
from tidings.models import Document, Parsed, ParsedArticle

SOURCE = "MIND"
LANGUAGE = "en"  # MIND is drawn from the English (en-US) Microsoft News site only
MIN_COLUMNS = 6
MAX_COLUMNS = 8
# MIND ids are "N" and a number; derived sets add their own letter-prefixed ids ("X3f…").
_NEWS_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\d[A-Za-z0-9_-]*")
# Categories are lowercase codes without spaces ("foodanddrink"), or empty.
_CATEGORY = re.compile(r"[a-z0-9_-]*")


def looks_like_mind(head: bytes) -> bool:
    """True if the first non-blank line is a MIND news row: an id, category codes and a title.

    ``head`` may stop inside the first line (entity lists are long); a cut-off row needs only
    its first four columns.
    """
    for line in head.decode("utf-8-sig", errors="replace").splitlines(keepends=True):
        if not line.strip():
            continue
        complete = line.endswith(("\n", "\r"))
        columns = line.rstrip("\r\n").split("\t")
        if complete and not MIN_COLUMNS <= len(columns) <= MAX_COLUMNS:
            return False
        if len(columns) < 4 or len(columns) > MAX_COLUMNS:
            return False
        news_id, category, subcategory, title = columns[:4]
        return (
            _NEWS_ID.fullmatch(news_id) is not None
            and _CATEGORY.fullmatch(category) is not None
            and _CATEGORY.fullmatch(subcategory) is not None
            and bool(title.strip())
            and (len(columns) < 6 or _looks_like_url(columns[5]))
        )
    return False


def parse(doc: Document) -> Parsed:
    """Every usable row of a MIND news file as an article; bad rows become warnings."""
    return parse_lines(doc, _article, unit="row", what="a MIND news article")


def _article(raw: str) -> ParsedArticle:
    """One row as an article; ValueError says what is wrong with it."""
    columns = raw.split("\t")
    if not MIN_COLUMNS <= len(columns) <= MAX_COLUMNS:
        raise ValueError(
            f"expected {MIN_COLUMNS} to {MAX_COLUMNS} tab-separated columns, found {len(columns)}"
        )
    news_id, category, subcategory, title, abstract, url = (clean_line(c) for c in columns[:6])
    if not news_id:
        raise ValueError("no news id in the first column")
    if not title:
        raise ValueError(f"news {news_id} has no title")
    labels = list(dict.fromkeys(label for label in (category, subcategory) if label))
    return ParsedArticle(
        title=title,
        url=url or None,
        external_id=news_id,
        paragraphs=[abstract] if abstract else [],
        labels=labels,
        language=LANGUAGE,
        source=SOURCE,
        raw=raw,
    )


def _looks_like_url(value: str) -> bool:
    value = value.strip()
    return not value or value.startswith(("http://", "https://"))
