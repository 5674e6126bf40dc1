"""The demo pack shipped inside the package: there, small, parseable, attributed — and
ready to serve in seconds, with stories told by many outlets."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter

from sqlalchemy import func, select

from tidings.demo import (
    ATTRIBUTION_PATH,
    DATA,
    DEMO_NAME,
    DEMO_PATH,
    UCI_NAME,
    UCI_PATH,
    demo_document,
    demo_documents,
)
from tidings.demo import understood as pack
from tidings.demo.licence import UCI, WIKINEWS, licence_of
from tidings.ingest import jsonl
from tidings.library import Tidings
from tidings.store.schema import articles


def _records(path: object) -> list[dict[str, object]]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]  # type: ignore[attr-defined]


def test_demo_pack_is_bundled_and_small() -> None:
    files = sorted(p.name for p in DATA.iterdir())
    assert files == [
        "uci_news_aggregator.jsonl.gz",
        "understood.jsonl.gz",
        "vectors.i8.gz",
        "wikinews.jsonl.gz",
    ]
    assert all(p.read_bytes()[:2] == b"\x1f\x8b" for p in DATA.iterdir())  # gzip
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 9_000_000


def test_wikinews_part_is_the_news_up_to_march_2014_in_paragraphs() -> None:
    records = _records(DEMO_PATH)
    assert len(records) == 2500
    assert all(
        set(r) == {"id", "title", "url", "published", "text", "categories", "source"}
        for r in records
    )
    assert all(r["source"] == "Wikinews" for r in records)
    assert all(str(r["url"]).startswith("https://en.wikinews.org/wiki/") for r in records)
    assert all(len(str(r["text"])) >= 400 for r in records)
    # Nothing later than the multi-outlet headlines: they are the demo's newest news.
    assert max(str(r["published"]) for r in records) <= "2014-03-12"
    # The exports lost their paragraph breaks; the pack has news-sized paragraphs again.
    paragraphs = [str(r["text"]).split("\n\n") for r in records]
    assert sum(len(p) >= 3 for p in paragraphs) / len(records) > 0.6
    assert max(len(x) for p in paragraphs for x in p) < 2000
    # Sorted, so rebuilding gives the same bytes; ids are unique.
    assert records == sorted(records, key=lambda r: (r["published"], r["id"]))
    assert len({r["id"] for r in records}) == len(records)
    for marker in ("()", "[[", "{{", "<noinclude>", "__NOTOC__", "  ", "Australia n "):
        assert not any(marker in str(r["text"]) for r in records), marker


def test_uci_part_is_headlines_from_many_outlets_without_the_answers() -> None:
    records = _records(UCI_PATH)
    assert len(records) == 6366
    assert len({r["source"] for r in records}) > 1900
    assert all(str(r["id"]).startswith("uci-news-aggregator:") for r in records)
    assert all(str(r["url"]).startswith(("http://", "https://")) for r in records)
    assert not any("\\?" in str(r["url"]) for r in records)
    # tidings must find the stories itself: the data set's story ids are not shipped.
    assert all(
        set(r) == {"id", "title", "url", "published", "categories", "source"} for r in records
    )
    assert Counter(c for r in records for c in r["categories"]).keys() == {  # type: ignore[attr-defined]
        "Business",
        "Entertainment",
        "Science and technology",
        "Health",
    }


def test_every_demo_line_parses() -> None:
    wikinews, uci = demo_documents()
    assert (
        (wikinews.name, uci.name)
        == (DEMO_NAME, UCI_NAME)
        == ("demo:wikinews", "demo:uci-news-aggregator")
    )
    assert demo_document() == wikinews
    for doc in (wikinews, uci):
        parsed = jsonl.parse(doc)
        assert parsed.warnings == []
        assert len(parsed.articles) == len(doc.data.splitlines())
        assert all(a.published is not None and a.url and a.external_id for a in parsed.articles)
    assert all(a.paragraphs for a in jsonl.parse(wikinews).articles)
    assert not any(a.paragraphs for a in jsonl.parse(uci).articles)  # headlines only


def test_attribution_names_both_sources_their_licences_and_the_changes() -> None:
    text = ATTRIBUTION_PATH.read_text(encoding="utf-8")
    assert "Wikinews contributors" in text and "CC BY 2.5" in text
    assert "https://creativecommons.org/licenses/by/2.5/" in text
    assert "toscaData" in text and "vanatteveldt/wikinews" in text
    assert "Gasparetti" in text and "CC BY 4.0" in text and "10.24432/C5F61C" in text
    assert "modified" in text and "Changes made by tidings" in text


def test_demo_text_carries_its_licence_line() -> None:
    assert licence_of("https://en.wikinews.org/wiki/X", "enwikinews-1") is WIKINEWS
    assert licence_of("https://www.latimes.com/a", "uci-news-aggregator:1") is UCI
    assert licence_of("https://example.org/a", None) is None
    assert licence_of(None, None) is None


def test_the_understood_pack_covers_every_demo_article() -> None:
    packed = list(pack.read())
    assert len(packed) == 2500 + 6366
    assert {p.understood.model for p in packed} == {"all-MiniLM-L6-v2-int8"}
    assert all(abs(float((p.understood.vector**2).sum()) - 1.0) < 0.02 for p in packed)
    # Many outlets' headlines of one event share a story in the pack.
    sizes = Counter(p.story for p in packed)
    assert sum(size >= 8 for size in sizes.values()) >= 40


def test_a_new_store_gets_the_demo_understood_without_the_models(tidings: Tidings) -> None:
    loaded = tidings.load_demo()
    assert loaded.error is None
    assert (loaded.added, loaded.understood) == (8866, 8866)
    with tidings.engine.connect() as connection:
        pending = connection.execute(
            select(func.count()).select_from(articles).where(articles.c.understood_at.is_(None))
        ).scalar_one()
    assert pending == 0
    # A reader sees stories told by many outlets, with a timeline of who told them.
    wide = tidings.stories(limit=50, min_articles=2)
    assert len(wide) >= 20
    biggest = max(wide, key=lambda s: s.outlet_count)
    assert biggest.outlet_count >= 20
    assert len({t.source for t in tidings.story(biggest.id).timeline}) >= 20
    # Topics came with it: entities and a section on an article.
    article = tidings.article(wide[0].lead_article_id or 0)
    assert article.section is not None
    # Loading again adds nothing and understands nothing twice.
    again = tidings.load_demo()
    assert (again.added, again.unchanged, again.understood) == (0, 8866, 0)


def test_a_changed_article_is_left_for_the_pipeline_not_given_stale_understanding(
    tidings: Tidings,
) -> None:
    tidings.load_demo(understood=False)
    with tidings.engine.begin() as connection:
        first = connection.execute(select(articles.c.id).order_by(articles.c.id)).first()
        assert first is not None
        connection.execute(
            articles.update().where(articles.c.id == first.id).values(content_hash="changed")
        )
    assert tidings.understand_demo() == 8865


def test_plain_logs_get_a_progress_line_with_rate_and_time_left() -> None:
    # Not a terminal (a service's log): lines every few seconds, not a silent bar.
    script = (
        "import time\n"
        "from tidings.cli.progress import Meter\n"
        "with Meter('Understanding articles', every=0.05) as m:\n"
        "    for done in range(0, 101, 20):\n"
        "        m(done, 100); time.sleep(0.06)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 4
    assert lines[1].startswith("Understanding articles: 20/100 (20%), ")
    assert "/s" in lines[1] and "left" in lines[1]
    assert "done in" in lines[-1]
