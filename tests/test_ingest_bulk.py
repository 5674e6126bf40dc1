"""The fast paths of a bulk ingest store and clean exactly what the general paths would."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from tidings.ingest.identity import content_hash
from tidings.ingest.text import clean_line, paragraphs_from_text
from tidings.library import Tidings
from tidings.models import Image, Media, ParsedArticle
from tidings.safety import clean_article, clean_text, safe_url
from tidings.store import articles as article_store
from tidings.store.schema import article_topics, articles

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
BODY = ["Déjà vu in Zürich: the council voted — again — on the “new” tram line. " * 5]


def _full(url: str, published: datetime, title: str = "Zürich votes") -> ParsedArticle:
    return ParsedArticle(
        title=title,
        url=url,
        external_id="z-1",
        key_points=["Trams", "Ünïcode point"],
        paragraphs=BODY,
        byline="A. Writer",
        published=published,
        language="en",
        source="Wikinews",
        image=Image(url="https://img.test/a.jpg", caption="A tram", credit="Someone"),
        media=[Media(kind="video", title="Clip", duration_seconds=61, url="https://v.test/1")],
        labels=["Transport", "Zürich"],
        raw='{"title": "Zürich votes"}',
    )


def test_a_bulk_insert_stores_rows_as_a_single_save_does(tidings: Tidings) -> None:
    # One article through the batch path, one through save() (SQLAlchemy Core): every column
    # but those that tell them apart, datetimes as stored text included, reads back the same.
    published = datetime(2021, 6, 1, 14, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    with tidings.engine.begin() as connection:
        [bulk] = article_store.save_many(
            connection, [(_full("https://a.test/bulk", published), "k:bulk")], kind="jsonl", now=NOW
        )
        single = article_store.save(
            connection,
            _full("https://a.test/single", published, "Zürich votes again"),
            key="k:single",
            kind="jsonl",
            now=NOW,
        )
        rows = {
            r.id: r._asdict() for r in connection.execute(select(articles).order_by(articles.c.id))
        }
        texts = {
            r[0]: r[1:]
            for r in connection.exec_driver_sql(
                "SELECT id, CAST(published_at AS TEXT), CAST(fetched_at AS TEXT) FROM articles"
            )
        }
        labels = {
            r.article_id: set() for r in connection.execute(select(article_topics.c.article_id))
        }
        for r in connection.execute(select(article_topics)):
            labels[r.article_id].add((r.topic_id, r.origin))
    assert bulk.status == single.status == "added"
    a, b = rows[bulk.id], rows[single.id]
    differ = {"id", "canonical_url", "url", "title", "content_hash"}
    assert {k: v for k, v in a.items() if k not in differ} == {
        k: v for k, v in b.items() if k not in differ
    }
    assert a["published_at"] == published
    assert texts[bulk.id] == texts[single.id]
    assert (
        labels[bulk.id]
        == labels[single.id]
        == {
            ("label:transport", "source"),
            ("label:zürich", "source"),
        }
    )
    stored = tidings.article(bulk.id)
    assert stored.paragraphs == BODY and stored.key_points == ["Trams", "Ünïcode point"]
    assert stored.media[0].duration_seconds == 61


def test_a_bulk_file_ingested_twice_is_unchanged_the_second_time(
    tidings: Tidings, tmp_path: Path
) -> None:
    lines = [
        {
            "id": str(i),
            "url": f"https://news.test/{i}",
            "title": f"Story {i}",
            "published": f"2020-01-{1 + i % 28:02d}",
            "text": f"Paragraph one of story {i}.\n\nParagraph two, with “quotes” ({i}).",
            "categories": ["World", "world", f"Topic {i % 3}"],
        }
        for i in range(120)
    ]
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    [first] = tidings.ingest([str(path)])
    [second] = tidings.ingest([str(path)])
    assert (first.added, first.unchanged) == (120, 0)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 120)
    assert second.articles == first.articles
    article = tidings.article(first.articles[7])
    assert {t.id for t in article.topics} == {"label:world", "label:topic-1"}
    assert article.published == datetime(2020, 1, 8, tzinfo=UTC)


def test_a_clean_article_comes_back_as_it_is_and_a_dirty_one_as_a_new_copy() -> None:
    clean = _full("https://a.test/1", NOW)
    assert clean_article(clean) == clean  # media are always rebuilt (a duration may change)
    clean.media = []
    assert clean_article(clean) is clean
    dirty = _full("javascript:alert(1)", NOW)
    dirty.paragraphs = ["ok", "bad\x00text\x85", "   ", "\ud800lone"]
    dirty.labels = ["\x01"]
    dirty.media = []
    cleaned = clean_article(dirty)
    assert cleaned is not dirty
    assert cleaned.url is None
    assert cleaned.paragraphs == ["ok", "badtext", "\ufffdlone"]
    assert cleaned.labels == []
    assert cleaned.key_points == dirty.key_points and cleaned.key_points is not dirty.key_points
    assert clean_article(cleaned) is cleaned  # idempotent, and then free


def test_clean_text_removes_controls_from_ascii_and_wider_text() -> None:
    assert clean_text("tab\tand\nlines\r stay") == "tab\tand\nlines\r stay"
    assert clean_text("a\x00b\x08c\x0bd\x1fe\x7ff") == "abcdef"
    assert clean_text("é\x00\x85\ufffe\ud800") == "é\ufffd"
    text = "plain words"
    assert clean_text(text) is text


def test_plain_urls_are_kept_as_they_are_and_others_still_checked() -> None:
    for url in (
        "https://en.wikinews.org/wiki/Some_story,_with_commas",
        "http://a.test",
        "https://A.Test/path?q=1&r=[2]#frag",
    ):
        assert safe_url(url) == url
    assert safe_url("HTTPS://a.test/x") == "HTTPS://a.test/x"
    assert safe_url("https://a.test/a file.jpg") == "https://a.test/a%20file.jpg"
    assert safe_url("https://a.test:99999/") is None
    assert safe_url("https://a.test:8080/x") == "https://a.test:8080/x"
    assert safe_url("javascript://a.test/%0aalert(1)") is None
    assert safe_url("https:///nohost") is None
    assert safe_url(" https://a.test/\t") == "https://a.test/"


def test_the_content_hash_folds_case_as_unicode_casefold_does() -> None:
    def reference(title: str, paragraphs: list[str]) -> str:
        text = "\n".join([clean_line(title), *(clean_line(p) for p in paragraphs)]).casefold()
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    for title, paragraphs in (
        ("ASCII Title", ["Plain  TEXT\twith runs ", "Second"]),
        ("Straße", ["GROSS", "İstanbul ǅ ﬁ"]),
        ("", []),
    ):
        assert content_hash(title, paragraphs) == reference(title, paragraphs)
    assert content_hash("Title", ["TEXT"]) == content_hash("title", ["text"])


def test_paragraphs_split_at_blank_lines_or_else_at_line_breaks() -> None:
    assert paragraphs_from_text("One\r\ntwo\r\n\r\nThree  \n \t \nfour") == [
        "One two",
        "Three",
        "four",
    ]
    assert paragraphs_from_text("a\nb\rc") == ["a", "b", "c"]
    assert paragraphs_from_text("  \n\n  ") == []
