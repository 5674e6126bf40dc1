"""tidings' own grouping on the full UCI News Aggregator file the demo pack ships (6,366
headlines, 1,948 publishers, 87 stories): the grouping measured is the pipeline's, and its
pairwise F1 and adjusted Rand index against the file's story ids stay above their floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidings.evaluate import floors
from tidings.evaluate.stories import ClusterReport, evaluate_clusters, group_headlines, read_uci
from tidings.library import Tidings

UCI_FULL = Path("data") / "stories" / "uci_news_aggregator_2014-03-10.tsv.gz"


def _partition(labels: list[int | None]) -> set[frozenset[int]]:
    groups: dict[int | None, set[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def test_the_evaluation_groups_headlines_as_the_pipeline_does(
    tidings: Tidings, shared: Path, tmp_path: Path
) -> None:
    # The first 240 headlines (an hour and a half of 10 March 2014), stored and understood
    # as the demo pack's headline-only items are, against the evaluation's own grouping.
    rows = read_uci(shared / UCI_FULL)[:240]
    items = [
        {"id": f"uci:{r['ID']}", "title": r["TITLE"], "url": r["URL"],
         "published": r["TIMESTAMP"], "source": r["PUBLISHER"]}
        for r in rows
    ]  # fmt: skip
    path = tmp_path / "uci.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n", encoding="utf-8")
    [result] = list(tidings.ingest([str(path)]))
    assert len(result.articles) == len(rows)
    tidings.understand()
    stored = [tidings.article(i).story_id for i in result.articles]
    found = group_headlines(rows)
    assert _partition(stored) == _partition(list(found))
    assert len(set(found)) < len(rows) // 2  # outlets did come together


@pytest.fixture(scope="module")
def full_report(shared: Path) -> ClusterReport:
    return evaluate_clusters(shared / UCI_FULL)


def test_full_uci_file_grouping_stays_above_its_floors(full_report: ClusterReport) -> None:
    report = full_report
    assert report.items == 6366 and report.stories_true == 87
    assert report.precision >= floors.UCI_FULL_PAIRWISE_PRECISION, report.summary()
    assert report.f1 >= floors.UCI_FULL_PAIRWISE_F1, report.summary()
    assert report.adjusted_rand >= floors.UCI_FULL_ADJUSTED_RAND, report.summary()
