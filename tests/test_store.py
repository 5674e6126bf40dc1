"""The store keeps every field of an article, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from tidings.errors import InputError, NotFound
from tidings.library import Tidings
from tidings.models import Document, Image, Media, ParsedArticle
from tidings.store import articles as article_store
from tidings.store import database

from .conftest import fresh_database

WHOLE = ParsedArticle(
    title="China vows to work with North Korea",
    url="https://news.example.com/china/article/1?utm_source=rss&id=7",
    external_id="guid-1",
    key_points=["Liu pledges closer ties", "Pyongyang tests a drone"],
    paragraphs=["First paragraph.", "Second paragraph."],
    byline="Jane Doe",
    published=datetime(2024, 1, 19, 7, 30, tzinfo=UTC),
    language="en",
    source="Example News",
    image=Image("https://img.example.com/a.jpg", "Liu Jianchao in 2021", "VCG/Getty"),
    media=[Media("video", "Constitution change", 236)],
    labels=["North Korea", "Diplomacy"],
    raw="<item>…</item>",
)


def _store_one(tidings: Tidings, article: ParsedArticle, kind: str = "feed") -> int:
    with tidings.engine.begin() as connection:
        saved = article_store.save(
            connection, article, key=f"k:{article.title}", kind=kind, now=datetime.now(UTC)
        )
    return saved.id


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> str:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def test_every_article_field_survives_the_round_trip(tidings: Tidings) -> None:
    article = tidings.article(_store_one(tidings, WHOLE))
    assert article.title == WHOLE.title
    assert article.key_points == WHOLE.key_points
    assert article.paragraphs == WHOLE.paragraphs
    assert article.byline == "Jane Doe"
    assert article.published == datetime(2024, 1, 19, 7, 30, tzinfo=UTC)
    assert article.fetched.tzinfo is not None
    assert article.language == "en"
    assert article.source == "Example News"
    assert article.image == WHOLE.image
    assert article.media == WHOLE.media
    assert [(t.id, t.name, t.kind) for t in article.topics] == [
        ("label:diplomacy", "Diplomacy", "label"),
        ("label:north-korea", "North Korea", "label"),
    ]
    assert tidings.raw_payload(article.id) == "<item>…</item>"


def test_an_unknown_article_id_is_reported_not_found(tidings: Tidings) -> None:
    with pytest.raises(NotFound, match="no article with id 999"):
        tidings.article(999)


def test_reingesting_a_feed_adds_nothing(tidings: Tidings, shared: Path) -> None:
    feed = str(shared / "data/feeds/guardian.rss")
    first = next(tidings.ingest([feed]))
    second = next(tidings.ingest([feed]))
    assert (first.status, first.added) == ("ok", 55)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 55)
    assert second.articles == first.articles
    assert tidings.article_count() == 55


def test_tracking_parameters_do_not_make_a_second_article(tidings: Tidings, tmp_path: Path) -> None:
    row = {"title": "Budget passes", "text": "The budget passed on Tuesday.", "categories": []}
    clean = _write_jsonl(tmp_path / "a.jsonl", [{**row, "url": "https://ex.com/budget"}])
    tracked = _write_jsonl(
        tmp_path / "b.jsonl",
        [{**row, "url": "https://EX.com/budget?utm_source=twitter&fbclid=abc#top"}],
    )
    first, second = tidings.ingest([clean, tracked])
    assert first.added == 1 and second.added == 0
    assert second.articles == first.articles


def test_the_same_story_at_a_new_url_updates_the_stored_article(
    tidings: Tidings, tmp_path: Path
) -> None:
    body = "The council approved the new tram line after a two-year debate. " * 6
    row = {"title": "Tram line approved", "text": body}
    first = next(
        tidings.ingest([_write_jsonl(tmp_path / "a.jsonl", [{**row, "url": "https://a.com/1"}])])
    )
    second = next(
        tidings.ingest([_write_jsonl(tmp_path / "b.jsonl", [{**row, "url": "https://b.com/x"}])])
    )
    assert second.articles == first.articles
    assert tidings.article_count() == 1


def test_feed_entries_sharing_a_link_with_distinct_ids_stay_distinct(
    tidings: Tidings, tmp_path: Path
) -> None:
    items = "".join(
        f"<item><title>Episode {n}</title><link>https://pod.example.com/</link>"
        f"<guid isPermaLink='false'>episode-{n}</guid><description>Show notes {n}</description>"
        f'<enclosure url="https://pod.example.com/{n}.mp3" type="audio/mpeg" length="1"/></item>'
        for n in range(1, 4)
    )
    feed = tmp_path / "podcast.rss"
    feed.write_text(f"<rss version='2.0'><channel><title>Pod</title>{items}</channel></rss>")
    result = next(tidings.ingest([str(feed)]))
    assert result.added == 3
    again = next(tidings.ingest([str(feed)]))
    assert again.added == 0 and tidings.article_count() == 3


def test_a_failing_input_keeps_what_is_stored_and_lets_the_others_in(
    tidings: Tidings, shared: Path, tmp_path: Path
) -> None:
    good = str(shared / "data/feeds/heise.atom")
    next(tidings.ingest([good]))
    before = tidings.article_count()
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"\x00\x01\x02binary\x00" * 100)
    results = list(
        tidings.ingest(
            [str(broken), str(tmp_path / "missing.rss"), str(shared / "data/feeds/rss-1.rss")]
        )
    )
    assert [r.status for r in results] == ["error", "error", "ok"]
    assert str(broken) in (results[0].error or "") and "binary" in (results[0].error or "")
    assert "no such file" in (results[1].error or "")
    assert tidings.article_count() == before + results[2].added


def test_a_parser_error_midway_writes_nothing_of_that_input(tidings: Tidings) -> None:
    doc = Document(name="half.rss", data=b"")
    result = tidings.ingest_document(doc)
    assert result.status == "error" and result.error and result.error.startswith("half.rss: ")
    assert tidings.article_count() == 0


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with Tidings(f"sqlite:///{tmp_path / 'wal.db'}") as store, store.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_opening_a_store_twice_migrates_once_and_keeps_the_data(database_url: str) -> None:
    with Tidings(database_url) as first:
        _store_one(first, WHOLE)
    with Tidings(database_url) as second:
        assert second.article_count() == 1


def test_sources_can_be_added_listed_and_removed(tidings: Tidings) -> None:
    source, new = tidings.add_source("https://www.theguardian.com/world/rss", title="Guardian")
    _, again = tidings.add_source("https://www.theguardian.com/world/rss")
    assert new and not again
    assert [s.url for s in tidings.sources()] == ["https://www.theguardian.com/world/rss"]
    assert tidings.remove_source(str(source.id)).title == "Guardian"
    assert tidings.sources() == []
    with pytest.raises(InputError, match="must be an http"):
        tidings.add_source("ftp://example.com/feed")


def test_opml_export_then_import_round_trips_the_sources(tidings: Tidings, tmp_path: Path) -> None:
    tidings.add_source("https://feeds.example.com/world.xml", title="World & more")
    tidings.add_source("https://feeds.example.com/tech.xml")
    exported = tidings.export_opml().encode()
    with Tidings(f"sqlite:///{tmp_path / 'other.db'}") as other:
        imported = other.import_opml(exported)
        assert [(s.url, s.title, new) for s, new in imported] == [
            ("https://feeds.example.com/world.xml", "World & more", True),
            ("https://feeds.example.com/tech.xml", None, True),
        ]


FOLDERED_OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>from another reader</title></head><body>
  <outline text="World news" title="World news">
    <outline type="rss" text="Guardian World" xmlUrl="https://feeds.example.com/world.xml"/>
    <outline text="Asia"><outline type="rss" text="NK News" xmlUrl="https://nk.example.com/rss"/>
    </outline>
  </outline>
  <outline type="rss" text="Tech" xmlUrl="https://feeds.example.com/tech.xml"/>
</body></opml>"""


def test_a_readers_opml_import_keeps_their_folders_and_export_gives_them_back(
    tidings: Tidings,
) -> None:
    tidings.add_reader("ann")
    tidings.import_opml(FOLDERED_OPML, reader="ann")
    filed = {s.source.url: s.folder.name if s.folder else None for s in
             tidings.filed_subscriptions("ann")}  # fmt: skip
    assert filed == {
        "https://feeds.example.com/world.xml": "World news",
        "https://nk.example.com/rss": "Asia",  # the nearest folder
        "https://feeds.example.com/tech.xml": None,
    }
    tidings.edit_subscription("ann", "https://feeds.example.com/tech.xml", title="My tech")
    tidings.add_reader("bob")
    tidings.import_opml(tidings.export_opml("ann").encode(), reader="bob")
    again = {(s.source.url, s.title, s.folder.name if s.folder else None) for s in
             tidings.filed_subscriptions("bob")}  # fmt: skip
    assert again == {
        ("https://feeds.example.com/world.xml", "Guardian World", "World news"),
        ("https://nk.example.com/rss", "NK News", "Asia"),
        ("https://feeds.example.com/tech.xml", "My tech", None),
    }


def test_a_file_that_is_not_opml_is_refused_by_name(tidings: Tidings) -> None:
    with pytest.raises(InputError, match=r"subs\.xml: not OPML"):
        tidings.import_opml(b"<rss><channel/></rss>", name="subs.xml")
    with pytest.raises(InputError, match="malformed"):
        tidings.import_opml(b"<opml><body>", name="subs.xml")


def test_upgrading_an_older_store_keeps_its_articles_and_labels(database_url: str) -> None:
    engine = database.create(database_url)
    database.migrate(engine, "0001")
    now = datetime(2024, 1, 19, tzinfo=UTC).isoformat(" ")
    with engine.begin() as connection:  # rows as revision 0001 stored them
        connection.execute(
            text(
                "INSERT INTO articles (id, canonical_url, content_hash, kind, title, key_points,"
                " paragraphs, fetched_at, updated_at, media, raw) VALUES (1, 'k:old', 'h',"
                " 'feed', :title, '[]', '[\"Body.\"]', :now, :now, '[]', '')"
            ),
            {"title": WHOLE.title, "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO topics (id, name, kind) VALUES"
                " ('label:north-korea', 'North Korea', 'label'),"
                " ('label:diplomacy', 'Diplomacy', 'label')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO article_topics (article_id, topic_id) VALUES"
                " (1, 'label:north-korea'), (1, 'label:diplomacy')"
            )
        )
    engine.dispose()
    with Tidings(database_url) as upgraded:
        (article,) = upgraded.articles()
        assert article.title == WHOLE.title
        assert [t.name for t in article.topics] == ["Diplomacy", "North Korea"]


@pytest.mark.postgres
def test_two_workers_storing_the_same_content_under_different_keys_keep_one_article(
    tmp_path: Path,
) -> None:
    """One story syndicated to two feeds, stored by two workers at the same moment."""
    story = ParsedArticle(
        title="Flood waters reach the city centre",
        paragraphs=[f"Paragraph {n} of a long report on the flood, in detail." for n in range(8)],
    )
    with fresh_database("postgresql", tmp_path) as url, Tidings(url) as tidings:
        now = datetime.now(UTC)
        results: list[article_store.Saved] = []
        with tidings.engine.connect() as first:
            first.begin()
            mine = article_store.save(first, story, key="k:feed-a", kind="feed", now=now)

            def second_worker() -> None:
                with tidings.engine.begin() as second:
                    results.append(
                        article_store.save(second, story, key="k:feed-b", kind="feed", now=now)
                    )

            worker = threading.Thread(target=second_worker)
            worker.start()
            worker.join(timeout=1.0)
            assert worker.is_alive(), "the second worker waits for the first to commit"
            first.commit()
        worker.join(timeout=10)
        (theirs,) = results
        assert mine.status == "added" and theirs.id == mine.id and theirs.status != "added"
        assert tidings.article_count() == 1
