"""Web-page extraction: the quality floor on the labelled page set, spot checks, bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tidings.errors import ParseError
from tidings.evaluate.extraction import evaluate_pages, normalise
from tidings.evaluate.floors import PAGE_SNIPPET_PASS_RATE
from tidings.ingest import webpage
from tidings.models import Document


@pytest.fixture(scope="module")
def pages(shared: Path) -> Path:
    return shared / "data" / "pages"


@pytest.fixture(scope="module")
def expected(pages: Path) -> dict[str, dict[str, Any]]:
    return json.loads((pages / "expected.json").read_text(encoding="utf-8"))


def _page(pages: Path, expected: dict[str, dict[str, Any]], file: str) -> tuple[str, Document]:
    url = next(u for u, spec in expected.items() if spec["file"] == file)
    return url, Document(name=file, data=(pages / "html" / file).read_bytes(), url=url)


def test_page_extraction_passes_snippets_on_at_least_90_percent_of_pages(pages: Path) -> None:
    report = evaluate_pages(pages)
    assert report.pages == 150
    failed = "\n".join(
        f"{f.file}: missing {f.missing} unwanted {f.unwanted} {f.error or ''}"
        for f in report.failures
    )
    assert report.pass_rate >= PAGE_SNIPPET_PASS_RATE, f"{report.summary()}\n{failed}"
    assert report.passed + len(report.failures) == report.pages
    assert report.with_found <= report.with_total and report.without_absent <= report.without_total


@pytest.mark.parametrize("file", ["kxan.com-Voters.html", "motor1.de-erwischt.html"])
def test_news_page_metadata_matches_the_labels(
    pages: Path, expected: dict[str, dict[str, Any]], file: str
) -> None:
    url, doc = _page(pages, expected, file)
    spec = expected[url]
    parsed = webpage.parse(doc)
    [article] = parsed.articles
    assert article.title == spec["title"]
    assert article.byline == spec["author"]
    assert article.published is not None
    assert article.published.date() == date.fromisoformat(spec["date"])
    assert article.published.tzinfo is not None
    assert article.url == url
    assert article.source and parsed.title == article.source
    assert article.raw.lstrip().lower().startswith(("<!doctype", "<html"))
    text = normalise(" ".join(article.paragraphs))
    assert all(normalise(s) in text for s in spec["with"])
    assert not any(normalise(s) in text for s in spec["without"])


def test_page_labels_image_and_language(pages: Path, expected: dict[str, dict[str, Any]]) -> None:
    url, doc = _page(pages, expected, "papaganda.org.minions.html")
    [article] = webpage.parse(doc).articles
    assert article.byline == "Floyd"
    assert article.labels[:2] == ["DIY (Do it Yourself)", "Bild"]
    assert set(expected[url]["tags"]) <= set(article.labels)
    assert article.image is not None and article.image.url.endswith(".jpg")
    assert article.language == "de"
    assert article.source == "Papaganda"


def test_standfirst_shown_beside_the_headline_is_kept(
    pages: Path, expected: dict[str, dict[str, Any]]
) -> None:
    _, doc = _page(pages, expected, "topagrar.com.schnee.solat.html")
    [article] = webpage.parse(doc).articles
    assert article.paragraphs[0].startswith("Eine Schneedecke auf der Photovoltaikanlage")


ARTICLE = (
    "<p>The river rose by two metres overnight, and the town council opened the flood gates "
    "before dawn so that the old bridge would not be lost to the water.</p>"
    "<p>Residents of the lower streets were told to move their cars to higher ground and to "
    "keep away from the banks until the evening, when the level is expected to fall.</p>"
)


def _html(body: str, head: str = "") -> str:
    return (
        f"<html lang='en-GB'><head><title>Flood at the bridge</title>{head}</head>"
        f"<body><article><h1>Flood at the bridge</h1>{body}</article></body></html>"
    )


def test_calls_to_action_and_link_teasers_are_dropped() -> None:
    page = _html(
        ARTICLE
        + "<p>Read more: <a href='/x'>Council votes on new flood defences</a></p>"
        + "<p>Sign up here for our daily newsletter.</p>"
    )
    [article] = webpage.parse(Document(name="t.html", data=page.encode())).articles
    assert len(article.paragraphs) == 2
    assert article.paragraphs[0].startswith("The river rose")
    assert article.title == "Flood at the bridge"
    assert article.language == "en"
    assert article.url is None and article.source is None


def test_source_falls_back_to_the_host() -> None:
    doc = Document(name="x", data=_html(ARTICLE).encode(), url="https://www.example.org/a/1")
    [article] = webpage.parse(doc).articles
    assert article.source == "example.org"
    assert article.url == "https://www.example.org/a/1"


def test_bytes_are_decoded_by_declared_charset_then_guessed() -> None:
    latin = _html(ARTICLE.replace("old bridge", "old Brücke"), "<meta charset='iso-8859-1'>")
    [article] = webpage.parse(Document(name="l.html", data=latin.encode("cp1252"))).articles
    assert "old Brücke" in article.paragraphs[0]
    # The HTTP header wins over a (wrong) meta declaration.
    wrong_meta = latin.replace("iso-8859-1", "utf-8").encode("cp1252")
    doc = Document(name="h.html", data=wrong_meta, content_type="text/html; charset=ISO-8859-1")
    assert "old Brücke" in webpage.parse(doc).articles[0].paragraphs[0]
    # Nothing declared: charset_normalizer guesses.
    undeclared = _html(ARTICLE.replace("old bridge", "alte Brücke über die Straße"))
    assert webpage.decode_html(undeclared.encode("utf-8")) == undeclared


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the page is empty"),
        (b"   \n ", "the page is empty"),
        (b"<html><body></body></html>", "no article text found in the page"),
        (
            b"<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
            b"<p>Accept cookies?</p></body></html>",
            "no article text found in the page",
        ),
    ],
)
def test_pages_without_an_article_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        webpage.parse(Document(name="bad.html", data=data))
