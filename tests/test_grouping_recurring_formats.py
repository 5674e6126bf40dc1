"""Recurring formats are not one story: interviews with different candidates, or one
country's COVID-19 count beside the world's, share a title template and much wording but
not what they are about. Grouped by the understand pipeline, as every article is."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tidings.library import Tidings
from tidings.stories.similarity import (
    FOCUS_OVERRIDE,
    SAME_STORY_THRESHOLD,
    StoryFeatures,
    choose_story,
    focus_keys,
    joins,
    similarity,
    story_features,
)

FIXTURE = Path(__file__).parent / "fixtures" / "recurring_formats.json"
T0 = datetime(2020, 10, 20, tzinfo=UTC)


def _articles() -> list[dict[str, str]]:
    articles: list[dict[str, str]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["articles"]
    return articles


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> str:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def _stories(tidings: Tidings) -> dict[str, int | None]:
    return {a.title: a.story_id for a in tidings.articles(limit=50)}


def test_interviews_and_case_counts_are_separate_stories(tidings: Tidings, tmp_path: Path) -> None:
    # Real Wikinews articles that tidings once put together: three "Wikinews interviews
    # <candidate>" within four days, and the world's millionth infection with Bangladesh's
    # daily deaths three days later.
    list(tidings.ingest([_write_jsonl(tmp_path / "formats.jsonl", _articles())]))
    report = tidings.understand()
    assert report.articles == 5 and report.stories_joined == 0
    stories = _stories(tidings)
    assert len(set(stories.values())) == 5, stories


def test_same_event_pairs_still_join_beside_recurring_formats(
    tidings: Tidings, tmp_path: Path, shared: Path
) -> None:
    # Two outlets on one Apple licensing deal (SemEval-2022 pair rated the same story),
    # ingested with the recurring formats: they alone join.
    with (shared / "data/stories/semeval2022_train.csv").open(encoding="utf-8") as rows:
        pair = next(r for r in csv.DictReader(rows) if r["pair_id"] == "1484396190_1484349204")
    apple = [
        {"title": "Apple strikes new deal with UK chip designer it sidelined in 2017",
         "text": pair["text1"], "url": "https://a.example/apple",
         "published": "2020-10-21T09:00Z", "source": "Outlet A"},
        {"title": "Apple, former partner Imagination Technologies ink new licensing agreement",
         "text": pair["text2"], "url": "https://b.example/apple",
         "published": "2020-10-21T15:00Z", "source": "Outlet B"},
    ]  # fmt: skip
    list(tidings.ingest([_write_jsonl(tmp_path / "mixed.jsonl", _articles() + apple)]))
    report = tidings.understand()
    assert report.stories_joined == 1
    stories = _stories(tidings)
    assert stories[apple[0]["title"]] == stories[apple[1]["title"]]
    assert len(set(stories.values())) == 6


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)], dtype=np.float32)


def _at(cos: float) -> np.ndarray:
    return _unit(float(np.arccos(cos)))


def test_focus_is_what_an_article_names_most() -> None:
    assert focus_keys([("Don Blankenship", 11), ("United States", 2)]) == {"don blankenship"}
    assert focus_keys([("Bangladesh", 4), ("IEDCR", 4), ("Dhaka", 1)]) == {"bangladesh", "iedcr"}
    # Named once or twice (a headline): no focus, so entities cannot part what the text joins.
    assert focus_keys([("Fed", 1), ("Charles Plosser", 1)]) == frozenset()
    assert focus_keys([("Johns Hopkins University", 2), ("Ohio", 1)]) == frozenset()
    assert focus_keys([]) == frozenset()
    features = story_features(_unit(0.0), [("Johns Hopkins University", 2), ("Ohio", 1)], T0)
    assert features.lead == {"johns hopkins university"} and not features.focus


def test_an_article_joins_only_a_story_that_names_what_it_is_about() -> None:
    cos = 0.62  # two interviews' embeddings agree this much
    a = story_features(_unit(0.0), [("Phil Collins", 11), ("Donald Trump", 2)], T0)
    b = story_features(_at(cos), [("Don Blankenship", 11), ("Bill Bayes", 1)], T0)
    assert similarity(a, b) == pytest.approx(cos, abs=1e-5)
    assert cos >= SAME_STORY_THRESHOLD
    assert not joins(a, b) and not joins(b, a)
    assert choose_story(a, [(7, b)]) is None
    # Naming the same person, even by surname alone, joins.
    c = story_features(_at(cos), [("Collins", 3), ("Nevada", 1)], T0)
    assert joins(a, c) and choose_story(a, [(7, b), (8, c)]) == 8
    # So does naming the other's lead: one event told around two of its people.
    d = story_features(_at(cos), [("Jim Hedges", 4), ("Phil Collins", 1)], T0)
    e = story_features(_unit(0.0), [("Phil Collins", 5), ("Prohibition Party", 2)], T0)
    assert joins(e, d) and choose_story(d, [(3, e)]) == 3
    # A story that names nothing is no evidence either way.
    bare = StoryFeatures(_at(cos), frozenset(), T0)
    assert choose_story(a, [(9, bare)]) == 9
    # Near copies join whatever the entities say.
    copy = story_features(_at(FOCUS_OVERRIDE + 0.05), [("Don Blankenship", 4)], T0)
    assert joins(a, copy) and choose_story(a, [(5, copy)]) == 5
