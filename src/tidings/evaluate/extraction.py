"""How well the web-page parser finds an article's main text, measured on labelled pages.

The page set (``expected.json`` plus ``html/``, from trafilatura's evaluation data) lists, per
URL, snippets that must appear in the extracted text (``with``: body text) and snippets that
must not (``without``: menus, footers, related links, comments). A page passes when every one of
its snippets behaves.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidings.errors import ParseError
from tidings.ingest import webpage
from tidings.models import Document, ParsedArticle

_WHITESPACE = re.compile(r"\s+")


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
            f"({_share(self.with_found, self.with_total):.1%}); "
            f"unwanted snippets kept out {self.without_absent}/{self.without_total} "
            f"({_share(self.without_absent, self.without_total):.1%})"
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


def evaluate_pages(pages_dir: Path) -> ExtractionReport:
    """Run :func:`tidings.ingest.webpage.parse` on every labelled page under ``pages_dir``."""
    expected: dict[str, dict[str, Any]] = json.loads(
        (pages_dir / "expected.json").read_text(encoding="utf-8")
    )
    passed = with_found = with_total = without_absent = without_total = 0
    failures: list[PageFailure] = []
    for url, spec in expected.items():
        file = str(spec["file"])
        wanted = [normalise(str(s)) for s in spec.get("with") or []]
        unwanted = [normalise(str(s)) for s in spec.get("without") or []]
        doc = Document(name=file, data=(pages_dir / "html" / file).read_bytes(), url=url)
        failure = PageFailure(file=file)
        try:
            text = extracted_text(webpage.parse(doc).articles[0])
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
        pass_rate=_share(passed, len(expected)),
        with_found=with_found,
        with_total=with_total,
        without_absent=without_absent,
        without_total=without_total,
        failures=failures,
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
