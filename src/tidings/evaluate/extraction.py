"""How well the web-page parser finds an article's main text, measured on labelled pages.

The page set (``expected.json`` plus ``html/``, from trafilatura's evaluation data) lists, per
URL, snippets that must appear in the extracted text (``with``: body text) and snippets that
must not (``without``: menus, footers, related links, comments). A page passes when every one of
its snippets behaves.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tidings.errors import ParseError
from tidings.evaluate import share
from tidings.ingest import capture, webpage
from tidings.models import Document, ParsedArticle

_WHITESPACE = re.compile(r"\s+")
Subset = Literal["all", "tune", "held-out"]


@dataclass(slots=True)
class PageFailure:
    """One page that did not pass, and which of its snippets let it down."""

    file: str
    missing: list[str] = field(default_factory=list)  # ``with`` snippets not in the text
    unwanted: list[str] = field(default_factory=list)  # ``without`` snippets in the text
    error: str | None = None  # the ParseError message, when the page could not be parsed


@dataclass(slots=True)
class ExtractionReport:
    """Page-level pass rate and snippet-level counts over one page set."""

    pages: int
    passed: int
    pass_rate: float  # share of pages with every ``with`` snippet in and every ``without`` out
    with_found: int  # wanted snippets found: recall of the article text
    with_total: int
    without_absent: int  # unwanted snippets kept out: precision against boilerplate
    without_total: int
    failures: list[PageFailure]

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"{self.passed}/{self.pages} pages pass ({self.pass_rate:.1%}); "
            f"wanted snippets found {self.with_found}/{self.with_total} "
            f"({share(self.with_found, self.with_total):.1%}); "
            f"unwanted snippets kept out {self.without_absent}/{self.without_total} "
            f"({share(self.without_absent, self.without_total):.1%})"
        )


def normalise(text: str) -> str:
    """Text as a reader sees it: NFC, without invisible format characters (zero-width space,
    soft hyphen, U+2063 …), every run of whitespace one space, trimmed."""
    text = unicodedata.normalize("NFC", text)
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return _WHITESPACE.sub(" ", visible).strip()


def extracted_text(article: ParsedArticle) -> str:
    """The article's main text: its paragraphs, in order.

    The title is left out: the snippets label the main text (the page set checks titles on
    their own), and a headline may well contain a ``without`` snippet naming the site.
    """
    return normalise("\n".join(article.paragraphs))


def parse_page(doc: Document) -> ParsedArticle:
    """The article the web-page parser finds in an HTML page."""
    return webpage.parse(doc).articles[0]


def parse_page_as_capture(doc: Document) -> ParsedArticle:
    """The article the capture parser finds in the page's text as a browser would show it.

    The page is rendered to plain text with inscriptis (layout-aware, like select-all in a
    browser), so the capture parser is measured on real sites' furniture, not just the seed.
    """
    from inscriptis import get_text  # an evaluation-only dependency (the ``test`` extra)

    html = doc.data.decode("utf-8", errors="replace")
    text = get_text(html)
    return capture.parse(Document(name=doc.name, data=text.encode("utf-8"))).articles[0]


def in_subset(file: str, subset: Subset) -> bool:
    """Whether a page belongs to ``subset``: a fixed half of the pages (by a hash of the file
    name) is for tuning rules, the other half stays held out to check they generalise."""
    if subset == "all":
        return True
    tune = hashlib.sha1(file.encode("utf-8")).digest()[0] % 2 == 0
    return tune == (subset == "tune")


def evaluate_pages(
    pages_dir: Path,
    parse: Callable[[Document], ParsedArticle] = parse_page,
    *,
    subset: Subset = "all",
    progress: Callable[[int, int], None] | None = None,
) -> ExtractionReport:
    """Run ``parse`` (the web-page parser by default) on the labelled pages in ``pages_dir``."""
    expected: dict[str, dict[str, Any]] = {
        url: spec
        for url, spec in json.loads(
            (pages_dir / "expected.json").read_text(encoding="utf-8")
        ).items()
        if in_subset(str(spec["file"]), subset)
    }
    passed = with_found = with_total = without_absent = without_total = 0
    failures: list[PageFailure] = []
    for done, (url, spec) in enumerate(expected.items(), 1):
        if progress:
            progress(done, len(expected))
        file = str(spec["file"])
        wanted = [normalise(str(s)) for s in spec.get("with") or []]
        unwanted = [normalise(str(s)) for s in spec.get("without") or []]
        doc = Document(name=file, data=(pages_dir / "html" / file).read_bytes(), url=url)
        failure = PageFailure(file=file)
        try:
            text = extracted_text(parse(doc))
        except ParseError as exc:
            # Nothing extracted: every wanted snippet is missing, every unwanted one absent.
            text = ""
            failure.error = str(exc)
        failure.missing = [s for s in wanted if s not in text]
        failure.unwanted = [s for s in unwanted if s in text]
        with_total += len(wanted)
        with_found += len(wanted) - len(failure.missing)
        without_total += len(unwanted)
        without_absent += len(unwanted) - len(failure.unwanted)
        if failure.missing or failure.unwanted or failure.error:
            failures.append(failure)
        else:
            passed += 1
    return ExtractionReport(
        pages=len(expected),
        passed=passed,
        pass_rate=share(passed, len(expected)),
        with_found=with_found,
        with_total=with_total,
        without_absent=without_absent,
        without_total=without_total,
        failures=failures,
    )
