"""Understanding: every stored article gets entities, a section, an embedding, key points
and a story; the same event from several outlets becomes one story."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tidings.library import Tidings

SEED = "seed/000_423f00d2bfa5128c.txt"


def _semeval_pair(shared: Path, pair_id: str) -> tuple[str, str]:
    with (shared / "data/stories/semeval2022_train.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["pair_id"] == pair_id:
                return row["text1"], row["text2"]
    raise LookupError(pair_id)


def _jsonl(path: Path, rows: list[dict[str, object]]) -> str:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def two_events(shared: Path, tmp_path: Path) -> str:
    """Two real events, each told by two outlets on the same day (SemEval same-story pairs)."""
    apple_a, apple_b = _semeval_pair(shared, "1484396190_1484349204")
    parade_a, parade_b = _semeval_pair(shared, "1484038289_1484223088")
    return _jsonl(
        tmp_path / "events.jsonl",
        [
            {"title": "Apple strikes new deal with UK chip designer it sidelined in 2017",
             "text": apple_a, "url": "https://a.example/apple", "published": "2020-01-02T09:00Z",
             "source": "Outlet A"},
            {"title": "Rose Parade 2020: See the coolest floats", "text": parade_a,
             "url": "https://a.example/parade", "published": "2020-01-01T18:00Z",
             "source": "Outlet A"},
            {"title": "Apple, former partner Imagination Technologies ink new licensing agreement",
             "text": apple_b, "url": "https://b.example/apple", "published": "2020-01-02T15:00Z",
             "source": "Outlet B"},
            {"title": "Watch Live: 131st Rose Parade, a New Year's Day Tradition",
             "text": parade_b, "url": "https://b.example/parade",
             "published": "2020-01-01T16:00Z", "source": "Outlet B"},
        ],
    )  # fmt: skip


def test_seed_article_gets_its_people_places_and_organisations(
    tidings: Tidings, shared: Path
) -> None:
    (result,) = tidings.ingest([str(shared / SEED)])
    report = tidings.understand()
    assert report.articles == 1
    article = tidings.article(result.articles[0])
    names = {e.name for e in article.entities}
    assert names >= {
        "China", "North Korea", "South Korea", "Liu Jianchao", "Ri Ryong-nam", "Kim Jong-un",
        "Choe Son-hui", "Vladimir Putin", "Seoul", "Pyongyang", "Beijing", "Moscow", "Guam",
        "International Liaison Department",
    }  # fmt: skip
    assert article.section is not None and article.section.kind == "section"
    assert article.story_id is not None
    # The source's own bullets stay as given.
    assert len(article.key_points) == 2 and not article.key_points_extracted
    shown = article.to_dict()
    assert {"name": "Kim Jong-un", "kind": "person"} in [
        {"name": e["name"], "kind": e["kind"]} for e in shown["entities"]
    ]
    assert shown["section"] == article.section.id.removeprefix("section:")


def test_the_same_event_from_two_outlets_is_one_story(tidings: Tidings, two_events: str) -> None:
    (result,) = tidings.ingest([two_events])
    report = tidings.understand()
    assert (report.articles, report.stories_started, report.stories_joined) == (4, 2, 2)
    apple_a, parade_a, apple_b, parade_b = (tidings.article(i) for i in result.articles)
    assert apple_a.story_id == apple_b.story_id != parade_a.story_id == parade_b.story_id
    story = tidings.story(apple_a.story_id or 0)
    assert (story.article_count, story.outlet_count) == (2, 2)
    assert [entry.source for entry in story.timeline] == ["Outlet A", "Outlet B"]
    assert "Apple" in story.headline


def test_story_ids_stay_put_when_more_articles_arrive(
    tidings: Tidings, two_events: str, tmp_path: Path
) -> None:
    (first,) = tidings.ingest([two_events])
    tidings.understand()
    before = {i: tidings.article(i).story_id for i in first.articles}
    rows = [json.loads(line) for line in Path(two_events).read_text().splitlines()]
    later = {**rows[0], "url": "https://c.example/apple", "source": "Outlet C",
             "title": "Imagination Technologies and Apple sign a new licence deal"}  # fmt: skip
    (second,) = tidings.ingest([_jsonl(tmp_path / "later.jsonl", [later])])
    tidings.understand(everything=True)
    assert {i: tidings.article(i).story_id for i in first.articles} == before
    assert tidings.article(second.articles[0]).story_id == before[first.articles[0]]


def test_articles_without_key_points_get_two_or_three_from_their_text(
    tidings: Tidings, shared: Path, tmp_path: Path
) -> None:
    lines = (shared / "data/wikinews/wikinews_2019_2021.jsonl").read_text().splitlines()[:30]
    sample = tmp_path / "wikinews.jsonl"
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (result,) = tidings.ingest([str(sample)])
    tidings.understand()
    long_ones = [
        a
        for a in (tidings.article(i) for i in result.articles)
        if sum(len(p) for p in a.paragraphs) > 1500
    ]
    assert long_ones
    for article in long_ones:
        assert 2 <= len(article.key_points) <= 3 and article.key_points_extracted
        body = " ".join(article.paragraphs)
        assert all(point in body for point in article.key_points)


def test_odd_articles_are_still_understood(tidings: Tidings, tmp_path: Path) -> None:
    odd = _jsonl(
        tmp_path / "odd.jsonl",
        [
            {"title": "", "text": " ", "url": "https://x.example/empty"},
            {"title": "Kurzmeldung", "text": "Der Bundestag hat heute über den Haushalt "
             "abgestimmt. Die Opposition kritisierte die Pläne scharf.",
             "url": "https://x.example/de"},
            {"title": "A very long article", "text": "The weather was fine today. " * 40_000,
             "url": "https://x.example/long"},
            {"title": "quiet day", "text": "nothing much happened here at all today.",
             "url": "https://x.example/quiet"},
        ],
    )  # fmt: skip
    (result,) = tidings.ingest([odd])
    report = tidings.understand()
    assert report.articles == len(result.articles)
    for article_id in result.articles:
        article = tidings.article(article_id)
        assert article.section is not None and article.story_id is not None
    with tidings.engine.connect() as connection:
        from tidings.store.understanding import vectors

        found = vectors(connection, result.articles)
    assert all(abs(float((v * v).sum()) - 1) < 1e-3 for v in found.values())


def test_a_feed_sees_a_story_again_once_its_articles_are_understood_again(
    tidings: Tidings, two_events: str
) -> None:
    from sqlalchemy import select, update

    from tidings.store.schema import article_topics, stories

    (result,) = tidings.ingest([two_events])
    tidings.understand()
    story_id = tidings.article(result.articles[0]).story_id
    tidings.add_reader("rereader")
    tidings.feed("rereader", record=False)  # the pool holds the story as it was
    with tidings.engine.begin() as connection:
        before = connection.execute(
            select(stories.c.updated_at).where(stories.c.id == story_id)
        ).scalar_one()
        # what an older model said: no topics at all
        connection.execute(
            article_topics.delete().where(article_topics.c.article_id.in_(result.articles))
        )
        connection.execute(update(stories).values(updated_at=before))
    tidings.understand(everything=True)
    with tidings.engine.connect() as connection:
        after = connection.execute(
            select(stories.c.updated_at).where(stories.c.id == story_id)
        ).scalar_one()
    assert after > before  # its story changed, so a pool refresh reloads it
    pool = tidings.feeds.pool()
    assert pool.by_id[story_id].topics  # the feed sees its topics again
