"""The demo pack shipped inside the package: there, big enough, parseable, attributed."""

from __future__ import annotations

import gzip
import json

from tidings.demo import ATTRIBUTION_PATH, DEMO_NAME, DEMO_PATH, demo_document
from tidings.ingest import jsonl


def test_demo_pack_is_bundled_and_small() -> None:
    assert DEMO_PATH.name == "wikinews.jsonl.gz"
    assert DEMO_PATH.is_file()
    assert DEMO_PATH.stat().st_size < 6_000_000
    assert DEMO_PATH.read_bytes()[:2] == b"\x1f\x8b"  # gzip


def test_demo_pack_has_thousands_of_articles_with_real_text() -> None:
    lines = gzip.decompress(DEMO_PATH.read_bytes()).decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) >= 2000
    assert all(
        set(r) == {"id", "title", "url", "published", "text", "categories", "source"}
        for r in records
    )
    assert all(r["source"] == "Wikinews" for r in records)
    assert all(r["url"].startswith("https://en.wikinews.org/wiki/") for r in records)
    assert all(len(r["text"]) >= 400 for r in records if r["published"] < "2019")
    assert sum(len(r["text"]) for r in records) / len(records) > 1000
    # Sorted, so rebuilding gives the same bytes; ids are unique.
    assert records == sorted(records, key=lambda r: (r["published"], r["id"]))
    assert len({r["id"] for r in records}) == len(records)
    # The wiki-markup leftovers the build cleans off are gone.
    for marker in ("()", "[[", "{{", "<noinclude>", "__NOTOC__", "  ", "Australia n "):
        assert not any(marker in r["text"] for r in records), marker


def test_every_demo_line_parses() -> None:
    doc = demo_document()
    assert doc.name == DEMO_NAME == "demo:wikinews"
    parsed = jsonl.parse(doc)
    assert parsed.warnings == []
    assert len(parsed.articles) == len(doc.data.splitlines())
    assert all(a.source == "Wikinews" for a in parsed.articles)
    assert all(a.published is not None and a.paragraphs and a.url for a in parsed.articles)
    assert all(a.external_id for a in parsed.articles)


def test_attribution_names_wikinews_contributors_and_the_licence() -> None:
    text = ATTRIBUTION_PATH.read_text(encoding="utf-8")
    assert "Wikinews contributors" in text
    assert "CC BY 2.5" in text
    assert "https://creativecommons.org/licenses/by/2.5/" in text
    assert "toscaData" in text and "vanatteveldt/wikinews" in text
    assert "modified" in text
