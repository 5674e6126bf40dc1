"""Feeds that point to pages: polling a feed whose entries give only a summary fetches the
linked pages (real pages from ../shared/data/pages, served on 127.0.0.1) and stores their
full text, per source ("auto", "always", "never"), under the fetcher's guards and limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.httpd import Route, Site
from tidings.errors import FetchError, InputError
from tidings.ingest import fulltext
from tidings.library import Tidings
from tidings.models import Document, ParsedArticle
from tidings.poll import SourceOutcome
from tidings.store.schema import articles

# Two real pages with known text (trafilatura's evaluation set, ../shared/data/pages).
PAGES = {
    "/news/amazon.html": "californiaglobe.com.amazon.html",
    "/news/climate.html": "diem25.org.climate.html",
}
SUMMARY = "A court ruled on the case on Monday; the page tells the rest."
LONG_BODY = "".join(
    f"<p>Paragraph {n} of an article the feed gives whole, long enough to be the article "
    f"itself and not a teaser of it, as many feeds do in content:encoded.</p>"
    for n in range(8)
)
PRIVATE_URL = "http://10.255.255.1/news/private.html"


def page(body: bytes, content_type: str) -> Route:
    """A page that answers 200 every time, without validators."""
    return Route(body, headers={"Content-Type": content_type}, etag=False)


@pytest.fixture
def site(shared: Path) -> Iterator[Site]:
    with Site() as server:
        for path, name in PAGES.items():
            html = (shared / "data/pages/html" / name).read_bytes()
            server.routes[path] = page(html, "text/html; charset=utf-8")
        yield server


@pytest.fixture(scope="module")
def expected(shared: Path) -> dict[str, dict]:
    """expected.json's entry (``with``, ``without``, ``author``…) for each served page."""
    labelled = json.loads((shared / "data/pages/expected.json").read_text(encoding="utf-8"))
    by_file = {v["file"]: v for v in labelled.values()}
    return {path: by_file[name] for path, name in PAGES.items()}


def _item(title: str, link: str, *, summary: str = SUMMARY, content: str | None = None) -> str:
    encoded = f"<content:encoded>{escape(content)}</content:encoded>" if content else ""
    return (
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<guid>{escape(link)}</guid><pubDate>Mon, 01 Dec 2025 10:00:00 GMT</pubDate>"
        f"<description>{escape(summary)}</description>{encoded}</item>"
    )


def serve_feed(site: Site) -> str:
    """A feed of summaries linking to the two pages, a missing page and a private address,
    and one entry that gives its whole text; answers 200 every time (no validators)."""
    items = [
        _item("Amazon liable, court rules", site.url + "/news/amazon.html"),
        _item("Green Deal not enough", site.url + "/news/climate.html"),
        _item("A page that is gone", site.url + "/news/gone.html"),
        _item("A page on a private address", PRIVATE_URL),
        _item("A whole article", site.url + "/news/whole.html", content=LONG_BODY),
    ]
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>Pages Daily</title><link>" + site.url + "/</link>"
        "<description>test</description>" + "".join(items) + "</channel></rss>"
    )
    site.routes["/feed.xml"] = page(feed.encode("utf-8"), "application/rss+xml")
    return site.url + "/feed.xml"


def stored(tidings: Tidings, site: Site) -> dict[str, dict]:
    """Each stored article (as `articles show --json`) by its path on the site, or its URL."""
    with tidings.engine.connect() as connection:
        ids = connection.execute(select(articles.c.id)).scalars().all()
    found = (tidings.article(i).to_dict() for i in ids)
    return {a["url"].removeprefix(site.url): a for a in found}


def text(article: dict) -> str:
    return "\n".join(article["paragraphs"])


def poll(tidings: Tidings, *, everything: bool = False) -> SourceOutcome:
    report = tidings.poll(everything=everything, understand=False)
    assert len(report.outcomes) == 1
    return report.outcomes[0]


def test_a_poll_stores_the_linked_pages_full_text_and_keeps_what_failed(
    tidings: Tidings, site: Site, expected: dict[str, dict]
) -> None:
    source, _ = tidings.add_source(serve_feed(site))
    assert source.full_text == "auto" and source.to_dict()["full_text"] == "auto"

    outcome = poll(tidings)
    assert outcome.status == "fetched" and outcome.added == 5, outcome
    found = stored(tidings, site)
    for path in PAGES:
        article, labels = found[path], expected[path]
        body = text(article)
        assert all(snippet in body for snippet in labels["with"]), (path, body[:300])
        assert not any(snippet in body for snippet in labels["without"]), path
        assert len(body) > 20 * len(SUMMARY)
        assert article["source"] == "Pages Daily"  # the feed's, not the page's site name
        assert article["published"].startswith("2025-12-01T10:00")
        assert article["byline"] == labels["author"]  # the feed has none: the page's
    assert found["/news/amazon.html"]["title"] == "Amazon liable, court rules"  # the feed's
    assert found["/news/amazon.html"]["image"]["url"].endswith("amaz-1.jpg")

    # the page that is gone and the private address keep their summaries, with a warning
    assert text(found["/news/gone.html"]) == SUMMARY
    assert text(found[PRIVATE_URL]) == SUMMARY
    gone_url = site.url + "/news/gone.html"
    warned = "\n".join(outcome.warnings)
    assert any(gone_url in w and "404" in w for w in outcome.warnings), warned
    assert any(PRIVATE_URL in w and "refused" in w.lower() for w in outcome.warnings), warned
    assert outcome.to_dict()["warnings"] == outcome.warnings
    # an entry that gives its whole text needs no page
    assert site.hits["/news/whole.html"] == 0
    assert len(found["/news/whole.html"]["paragraphs"]) == 8
    assert site.hits["/news/amazon.html"] == site.hits["/news/climate.html"] == 1

    # polling again fetches no page of an article stored with its full text, and keeps it
    before = {path: text(found[path]) for path in PAGES}
    again = poll(tidings, everything=True)
    assert again.status == "fetched" and (again.added, again.updated) == (0, 0), again
    assert site.hits["/feed.xml"] == 2
    assert site.hits["/news/amazon.html"] == site.hits["/news/climate.html"] == 1
    assert {path: text(a) for path, a in stored(tidings, site).items() if path in PAGES} == before
    # a page that failed is tried again (it may be back), still under the guards
    assert site.hits["/news/gone.html"] == 2


def test_never_keeps_the_feeds_summaries_and_always_fetches_every_page(
    tidings: Tidings, site: Site
) -> None:
    url = serve_feed(site)
    source, _ = tidings.add_source(url)
    assert tidings.set_full_text(str(source.id), "never").full_text == "never"
    outcome = poll(tidings)
    assert outcome.added == 5 and outcome.warnings == []
    found = stored(tidings, site)
    assert all(text(found[path]) == SUMMARY for path in PAGES)
    assert sum(n for path, n in site.hits.items() if path != "/feed.xml") == 0

    site.routes["/news/whole.html"] = site.routes["/news/climate.html"]
    assert tidings.set_full_text(url, "always").full_text == "always"
    outcome = poll(tidings, everything=True)
    assert outcome.updated == 3  # the two summaries, and the whole article (its page says more)
    found = stored(tidings, site)
    assert all(len(text(found[path])) > 1000 for path in PAGES)
    assert site.hits["/news/whole.html"] == 1
    assert "Due to the rise of movements dedicated to addressing" in text(found["/news/whole.html"])
    assert [s.full_text for s in tidings.sources()] == ["always"]

    with pytest.raises(InputError, match="auto, always, never"):
        tidings.set_full_text(url, "sometimes")


# -- the rules, without a network -----------------------------------------------------------


def _entry(n: int, paragraphs: list[str]) -> ParsedArticle:
    return ParsedArticle(title=f"Entry {n}", url=f"https://news.example/{n}", paragraphs=paragraphs)


def test_what_counts_as_a_summary() -> None:
    long = "x" * 400
    assert fulltext.is_summary(_entry(1, []))
    assert fulltext.is_summary(_entry(1, ["A teaser."]))
    assert fulltext.is_summary(_entry(1, [long * 3]))  # one block, however long
    assert fulltext.is_summary(_entry(1, ["Short.", "Also short."]))  # < 500 characters
    assert not fulltext.is_summary(_entry(1, [long, long]))
    assert fulltext.wants_page(_entry(1, [long, long]), "always")
    assert not fulltext.wants_page(_entry(1, ["A teaser."]), "never")
    assert not fulltext.wants_page(ParsedArticle(title="no link", paragraphs=["A."]), "auto")
    with pytest.raises(ValueError):
        fulltext.check_mode("often")


def test_at_most_max_pages_per_poll_within_the_budget_and_failures_keep_the_summary() -> None:
    page_text = [f"Part {n} of the page says much more than the feed. " * 20 for n in range(3)]
    asked: list[str] = []

    def fetch(url: str, timeout: float, deadline: float) -> Document:
        asked.append(url)
        assert timeout <= fulltext.PAGE_TIMEOUT_SECONDS
        assert deadline <= fulltext.PAGE_DEADLINE_SECONDS
        if url.endswith("/2"):
            raise FetchError("HTTP 500 Internal Server Error")
        paragraphs = "".join(f"<p>{p}</p>" for p in page_text)
        html = f"<html><head><title>Page</title></head><body><article>{paragraphs}</article>"
        return Document(url, html.encode(), url=url, content_type="text/html")

    entries = [_entry(n, ["A teaser."]) for n in range(6)]
    keys = [e.url or "" for e in entries]
    kept = fulltext.StoredBody(paragraphs=["Stored full text. " * 40], byline="A. Writer")
    report = fulltext.complete(
        entries, keys, mode="auto", stored={keys[0]: kept}, fetch=fetch, max_pages=3
    )
    assert asked == [f"https://news.example/{n}" for n in (1, 2, 3)]
    assert (report.kept, report.fetched, report.failed, report.postponed) == (1, 2, 1, 2)
    assert entries[0].paragraphs == kept.paragraphs and entries[0].byline == "A. Writer"
    assert len(entries[1].paragraphs) == 3 and entries[2].paragraphs == ["A teaser."]
    assert entries[4].paragraphs == entries[5].paragraphs == ["A teaser."]
    assert any("https://news.example/2" in w and "HTTP 500" in w for w in report.warnings)
    assert any("2 entries kept their summary" in w for w in report.warnings)

    clock = iter([0.0, 0.0, 100.0, 100.0, 100.0, 100.0, 100.0]).__next__
    entries = [_entry(n, ["A teaser."]) for n in range(3)]
    report = fulltext.complete(
        entries, [e.url or "" for e in entries], mode="auto", stored={}, fetch=fetch,
        budget=60, clock=clock,
    )  # fmt: skip
    assert (report.fetched, report.postponed) == (1, 2)


def test_cli_sets_and_lists_the_full_text_mode(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tidings.cli import app

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    url = "https://news.example/feed.xml"
    assert runner.invoke(app, ["sources", "add", url, "--db", db]).exit_code == 0
    result = runner.invoke(app, ["sources", "full-text", url, "never", "--db", db])
    assert result.exit_code == 0 and "full text never" in result.output, result.output
    result = runner.invoke(app, ["sources", "list", "--json", "--db", db])
    assert [s["full_text"] for s in json.loads(result.output)] == ["never"]
    result = runner.invoke(app, ["sources", "list", "--db", db])
    assert "never" in result.output
    result = runner.invoke(app, ["sources", "full-text", "1", "sometimes", "--db", db])
    assert result.exit_code == 1 and "auto, always, never" in result.output
    result = runner.invoke(app, ["sources", "full-text", "99", "auto", "--db", db])
    assert result.exit_code == 1
