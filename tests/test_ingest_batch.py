"""Bulk ingest saves a batch at a time and gives exactly what saving one at a time gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from tidings.ingest import pipeline
from tidings.library import Tidings
from tidings.models import ParsedArticle
from tidings.store import articles as article_store
from tidings.store.schema import article_topics, articles

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
BODY_X = ["A long report on the flood. " * 12]  # long enough to merge URLs by content
BODY_Y = ["A different long report on the vote. " * 10]
BODY_Z = ["A third long report, on the harvest. " * 10]
TEASER = ["Listen now."]  # short: equal hashes never merge two URLs


def _article(url: str, title: str, body: list[str], labels: list[str] | None = None) -> Any:
    return ParsedArticle(title=title, url=url, paragraphs=body, labels=labels or [], raw=url)


# Every way an article of one input can meet another of the same input or a stored one.
TRICKY = [
    ("k:1", _article("https://a.test/1", "Flood", BODY_X, ["Weather"])),
    ("k:2", _article("https://a.test/2", "Flood", BODY_X, ["Weather"])),  # same content
    ("k:1", _article("https://a.test/1", "Vote", BODY_Y, ["Politics"])),  # same key, new text
    ("k:3", _article("https://a.test/3", "Flood", BODY_X)),  # old content of the moved row
    ("k:4", _article("https://a.test/4", "Pod", TEASER)),
    ("k:5", _article("https://a.test/5", "Pod", TEASER)),  # short body: a row of its own
    ("k:1", _article("https://a.test/1", "Vote", BODY_Y, ["Politics"])),  # unchanged
    ("k:7", _article("https://a.test/7", "Harvest", BODY_Z)),  # content stored before
    ("k:6", _article("https://a.test/6", "Stored", TEASER, ["Farming"])),  # labels only
    ("k:8", _article("https://a.test/8", "Vote", BODY_Y, ["Politics"])),  # merges into k:1
    ("k:3", _article("https://a.test/3", "Flood", BODY_X, ["Weather", "weather"])),
]


def _stored(connection: Connection) -> set[tuple[Any, ...]]:
    labels: dict[int, set[str]] = {}
    for row in connection.execute(select(article_topics)):
        labels.setdefault(row.article_id, set()).add(row.topic_id)
    return {
        (r.canonical_url, r.url, r.title, r.content_hash, frozenset(labels.get(r.id, ())))
        for r in connection.execute(select(articles))
    }


def _outcome(tidings: Tidings, save_all: Any) -> tuple[list[tuple[str, str]], set[Any]]:
    """What saving TRICKY does to a store holding two articles, then undone."""
    with tidings.engine.connect() as connection:
        transaction = connection.begin()
        before = [
            ("k:6", _article("https://a.test/6", "Stored", TEASER, ["Gardens"])),
            ("k:9", _article("https://b.test/9", "Harvest", BODY_Z)),
        ]
        for article, key in [(a, k) for k, a in before]:
            article_store.save(connection, article, key=key, kind="jsonl", now=NOW)
        saved = save_all(connection, [(a, k) for k, a in TRICKY])
        keys = {r.id: r.canonical_url for r in connection.execute(select(articles))}
        outcome = [(keys[s.id], s.status) for s in saved], _stored(connection)
        transaction.rollback()
    return outcome


def test_a_batch_dedups_exactly_as_saving_one_article_at_a_time(tidings: Tidings) -> None:
    def one_at_a_time(connection: Connection, batch: list[Any]) -> list[Any]:
        return [
            article_store.save(connection, article, key=key, kind="jsonl", now=NOW)
            for article, key in batch
        ]

    def batched(connection: Connection, batch: list[Any]) -> list[Any]:
        return article_store.save_many(connection, batch, kind="jsonl", now=NOW)

    expected = _outcome(tidings, one_at_a_time)
    assert _outcome(tidings, batched) == expected
    statuses = [status for _, status in expected[0]]
    assert statuses.count("added") == 4 and statuses.count("unchanged") == 1
    assert expected[0][7] == ("k:9", "updated")  # the harvest merged into the stored one


def _write(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_a_file_larger_than_a_batch_counts_every_article_and_reports_progress(
    tidings: Tidings, tmp_path: Path
) -> None:
    rows = [
        {"url": f"https://c.test/{i}", "title": f"Story {i}", "text": f"Body {i}.",
         "categories": ["Science"]}
        for i in range(1200)
    ]  # fmt: skip
    rows[1100] = dict(rows[3], title="Story 3, corrected")  # a later line updates an earlier one
    rows[1101] = rows[5]  # and one repeats it word for word
    seen: list[tuple[int, int]] = []
    result = tidings.ingest_document(
        pipeline.read(_write(tmp_path / "big.jsonl", rows)),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (result.added, result.updated, result.unchanged) == (1198, 1, 1)
    assert result.articles[1100] == result.articles[3]
    assert tidings.article_count() == 1198
    assert tidings.article(result.articles[3]).title == "Story 3, corrected"
    assert seen and seen[-1] == (1200, 1200)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    # Again: line 3 puts the first title back and line 1100 corrects it once more.
    again = next(iter(tidings.ingest([str(tmp_path / "big.jsonl")])))
    assert (again.added, again.updated, again.unchanged) == (0, 2, 1198)
