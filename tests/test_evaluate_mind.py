"""Offline evaluation on MIND click logs: the ranker beats its baselines on real impressions,
the metrics are MIND's own, popularity never leaks a row's own click, and bad input is
stepped over (rows) or named (files)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tidings.errors import InputError
from tidings.evaluate import floors
from tidings.evaluate.mind import BASELINES, evaluate_mind, split_log
from tidings.evaluate.mind_log import Impression, read_log
from tidings.evaluate.mind_metrics import METRICS, auc, impression_metrics, mrr, ndcg
from tidings.evaluate.mind_popularity import (
    POPULARITY_FOLDS,
    bucket,
    hashed_popularity,
    timed_popularity,
)
from tidings.evaluate.mind_report import MindReport, format_table, write_chart, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mind(shared: Path) -> Path:
    return shared / "data" / "mind"


@pytest.fixture(scope="module")
def report(mind: Path) -> MindReport:
    """One full replay of the shared log per session (about two minutes without cached
    vectors, most of it embedding the articles)."""
    return evaluate_mind(mind, seed=0)


def test_the_ranker_beats_the_random_popularity_and_content_baselines_on_mind(
    report: MindReport,
) -> None:
    tidings = report.methods["tidings"]
    assert report.split == "hash"  # the shared log has no times
    assert tidings.impressions == report.counts["scored_impressions"] >= 200
    assert report.counts["subsampled_not_scored"] > 0  # only complete lists are scored
    assert tidings.auc >= floors.MIND_AUC
    assert tidings.mrr >= floors.MIND_MRR
    assert tidings.ndcg5 >= floors.MIND_NDCG5
    assert tidings.ndcg10 >= floors.MIND_NDCG10
    for baseline in BASELINES:
        other = report.methods[baseline]
        assert other.impressions == tidings.impressions  # the same impressions
        for metric in METRICS:
            assert tidings.metric(metric) > other.metric(metric), (baseline, metric)
    # Clearly, not by luck: the paired AUC gain is several standard errors over the
    # popularity and content baselines.
    for baseline in ("popularity", "content"):
        gain = report.versus[baseline]
        assert gain["auc_gain"] >= floors.MIND_AUC_GAIN
        assert gain["auc_gain"] > 2 * gain["auc_gain_se"]


def test_metric_functions_agree_with_minds_definitions() -> None:
    # Ranked: clicked, not, not, clicked, not.
    labels = np.array([1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.2, 0.1])
    assert mrr(labels, scores) == pytest.approx((1 / 1 + 1 / 4) / 2)
    # DCG: gains 2^rel − 1 discounted by log2(rank + 1); the ideal puts both clicks first.
    dcg5 = 1 / np.log2(2) + 1 / np.log2(5)
    ideal = 1 / np.log2(2) + 1 / np.log2(3)
    assert ndcg(labels, scores, 5) == pytest.approx(dcg5 / ideal)
    assert ndcg(labels, scores, 10) == pytest.approx(dcg5 / ideal)
    assert ndcg(labels, scores, 2) == pytest.approx(1 / ideal)
    # 4 of the 6 (clicked, unclicked) pairs are in the right order.
    assert auc(labels, scores) == pytest.approx(4 / 6)
    assert auc(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.5)  # a tie is half
    # Ties in the rank metrics are broken by the given key (higher first), never by the
    # order the log lists candidates in; AUC counts ties as half.
    tied = np.zeros(5)
    as_listed = impression_metrics(labels, tied, np.array([5, 4, 3, 2, 1]))
    assert as_listed.tolist() == pytest.approx([0.5, 0.625, dcg5 / ideal, dcg5 / ideal])
    clicks_first = impression_metrics(labels, tied, np.array([5, 1, 2, 4, 3]))
    assert clicks_first.tolist() == pytest.approx([0.5, 0.75, 1.0, 1.0])


def _real_rows(mind: Path, count: int) -> tuple[list[str], list[str]]:
    """The first ``count`` short behaviors rows of the shared log and the news rows they use."""
    rows = []
    for line in (mind / "behaviors.tsv").read_text(encoding="utf-8").splitlines():
        if len(line.split("\t")[4].split()) <= 12:
            rows.append(line)
        if len(rows) == count:
            break
    wanted = {t.rsplit("-", 1)[0] for r in rows for t in r.split("\t")[4].split()}
    wanted |= {n for r in rows for n in r.split("\t")[3].split()}
    news = [
        line
        for line in (mind / "news.tsv").read_text(encoding="utf-8").splitlines()
        if line.split("\t", 1)[0] in wanted
    ]
    return rows, news


def test_malformed_behaviors_rows_are_skipped_with_a_warning_naming_the_line(
    tmp_path: Path, mind: Path
) -> None:
    rows, news = _real_rows(mind, 3)
    (tmp_path / "news.tsv").write_text("\n".join(news) + "\n", encoding="utf-8")
    history, shown = rows[0].split("\t")[3:5]
    behaviors = [
        rows[0],  # line 1
        "900001\tPx\t\tN1 N2",  # line 2: four columns
        rows[1],  # line 3
        f"900002\tPx\t\t{history}\t{shown.split()[0].rsplit('-', 1)[0]}-yes",  # line 4: bad label
        "900003\tPx\t\t\tNOSUCH1-1 NOSUCH2-0",  # line 5: no candidate is in news.tsv
        f"900004\tPx\tyesterday\t{history}\t{shown}",  # line 6: unreadable time
        rows[2] + " NOSUCH3-0",  # line 7: one unknown candidate, dropped and counted
        rows[0],  # line 8: the same impression again
    ]
    path = tmp_path / "behaviors.tsv"
    path.write_text("\n".join(behaviors) + "\n", encoding="utf-8")

    log, table = read_log(tmp_path)

    assert [i.line for i in log.impressions] == [1, 3, 7]
    assert log.rows_skipped == 5
    assert log.dropped_candidates == 1
    text = "\n".join(log.warnings)
    for line in (2, 4, 5, 6, 8):
        assert f"{path}: line {line}:" in text
    assert "expected 5 tab-separated columns, found 4" in text
    assert "bad candidate" in text and "-yes" in text
    assert "dropped 1 candidate and 0 history ids not in news.tsv (first on line 7)" in text
    assert len(log.impressions[2].candidates) == len(rows[2].split("\t")[4].split())
    assert len(table.ids) == len(news)


def test_a_missing_file_gives_a_clear_input_error(tmp_path: Path, mind: Path) -> None:
    with pytest.raises(InputError, match="no such folder") as missing:
        evaluate_mind(tmp_path / "nowhere")
    assert missing.value.input == str(tmp_path / "nowhere")
    folder = tmp_path / "only-news"
    folder.mkdir()
    (folder / "news.tsv").write_bytes((mind / "news.tsv").read_bytes()[:20000].rsplit(b"\n", 1)[0])
    with pytest.raises(InputError, match="no such file") as no_behaviors:
        evaluate_mind(folder)
    assert no_behaviors.value.input == str(folder / "behaviors.tsv")
    with pytest.raises(InputError, match=r"news\.tsv"):
        evaluate_mind(mind, train_dir=tmp_path)  # a folder without news.tsv


def test_train_dir_mode_scores_every_test_impression(tmp_path: Path, mind: Path) -> None:
    lines = (mind / "behaviors.tsv").read_text(encoding="utf-8").splitlines()[:400]
    train_dir, test_dir = tmp_path / "train", tmp_path / "test"
    for folder in (train_dir, test_dir):
        folder.mkdir()
        (folder / "news.tsv").symlink_to(mind / "news.tsv")
        (folder / "impression_meta.tsv").symlink_to(mind / "impression_meta.tsv")
    test_lines = [line for line in lines if int(line.split("\t")[0]) % 4 == 0]
    train_lines = [line for line in lines if int(line.split("\t")[0]) % 4 != 0]
    (train_dir / "behaviors.tsv").write_text("\n".join(train_lines) + "\n", encoding="utf-8")
    (test_dir / "behaviors.tsv").write_text(
        "\n".join([*test_lines, "broken row"]) + "\n", encoding="utf-8"
    )

    result = evaluate_mind(test_dir, train_dir=train_dir, kind="logistic")

    test_log, _ = read_log(test_dir)
    complete = [i for i in test_log.impressions if i.full and i.usable]
    assert result.split == "train-dir"
    assert result.counts["training_impressions"] == len(train_lines)
    assert result.counts["scored_impressions"] == len(complete) > 0
    assert result.counts["subsampled_not_scored"] == len(test_lines) - len(complete)
    for scores in result.methods.values():
        assert scores.impressions == len(complete)
    assert any(
        f"{test_dir / 'behaviors.tsv'}: line {len(test_lines) + 1}:" in w for w in result.warnings
    )


def test_the_report_json_has_the_methods_shape_and_the_chart_is_written(
    report: MindReport, tmp_path: Path
) -> None:
    path = write_report(report, tmp_path / "mind.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    methods = data["methods"]
    assert {"tidings", "random", "popularity", "content"} <= set(methods)
    for scores in methods.values():
        assert set(scores) == {"auc", "mrr", "ndcg5", "ndcg10", "impressions"}
        assert all(0.0 <= scores[m] <= 1.0 for m in METRICS)
        assert scores["impressions"] == report.counts["scored_impressions"]
    assert data["split"] == "hash" and data["seed"] == 0
    assert any("no times" in note for note in data["notes"])
    assert set(data["seconds"]) == {"embedding", "training", "total"}
    chart = write_chart(report, tmp_path / "charts" / "mind.png")
    assert chart.read_bytes()[:8] == PNG_MAGIC
    table = format_table(report)
    assert table.splitlines()[2].startswith("tidings")


# --- Popularity without leakage, on made-up impressions -----------------------------------


def _impression(ident: str, candidates: list[int], labels: list[int], **kw: object) -> Impression:
    return Impression(
        id=ident,
        user="u",
        time=kw.get("time"),  # type: ignore[arg-type]
        history=np.zeros(0, np.int64),
        candidates=np.array(candidates, dtype=np.int64),
        labels=np.array(labels, dtype=np.int8),
    )


def test_a_training_row_never_sees_its_own_click() -> None:
    # Story 0 is clicked once, in impression "a" only; story 1 never.
    impressions = [_impression("a", [0, 1], [1, 0])]
    impressions += [_impression(f"x{n}", [1, 2], [0, 1]) for n in range(20)]
    train_counts, scored_counts = hashed_popularity(
        impressions, impressions, [_impression("t", [0, 1], [0, 1])], size=3, seed=0
    )
    own = train_counts[0]
    assert own.clicks[0] == 0.0  # its one click is its own
    assert own.recent_clicks[0] == 0.0
    assert own.shown[1] > 0  # others showed story 1
    # A scored row counts every training impression, at the whole log's scale.
    assert scored_counts[0].clicks.tolist() == [1.0, 0.0]
    assert scored_counts[0].shown.tolist() == [1.0, 21.0]
    # Story 2 is taken wherever shown: each row counts the clicks of the rows in the other
    # folds, scaled by 5/4 — never its own.
    fold = {i.id: int(bucket(0, "popularity-fold", i.id) * POPULARITY_FOLDS) for i in impressions}
    for impression, counts in zip(impressions[1:], train_counts[1:], strict=True):
        others = sum(1 for i in impressions[1:] if fold[i.id] != fold[impression.id])
        assert counts.clicks.tolist() == pytest.approx([0.0, others * 5 / 4])


def test_with_times_the_logsplit_logs_by_time_and_counts_only_earlier_impressions() -> None:
    start = datetime(2019, 11, 15, 8)
    impressions = [
        _impression(str(n), [0, 1], [n % 2, 1 - n % 2], time=start + timedelta(hours=n))
        for n in range(10)
    ]
    train, test, split = split_log(list(reversed(impressions)), seed=0, test_fraction=0.2)
    assert split == "time"
    assert [i.id for i in test] == ["8", "9"]
    assert max(i.time for i in train) < min(i.time for i in test)  # type: ignore[type-var]
    counts = timed_popularity(impressions, size=2, recent_hours=2.5)
    first, fifth = counts[id(impressions[0])], counts[id(impressions[4])]
    assert first.shown.tolist() == [0.0, 0.0]  # nothing before the first
    assert fifth.shown.tolist() == [4.0, 4.0]  # impressions 0–3
    assert fifth.clicks.tolist() == [2.0, 2.0]
    assert fifth.recent_shown.tolist() == [2.0, 2.0]  # 2 and 3: within 2.5 hours


def test_the_terminal_prints_one_object_keyed_by_method(mind: Path, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tidings.cli import app

    result = CliRunner().invoke(
        app,
        [
            "evaluate", "mind", str(mind), "--json",
            "--report", str(tmp_path / "r.json"), "--chart", str(tmp_path / "r.png"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    methods = json.loads(result.stdout)
    assert {"tidings", "random", "popularity", "content"} <= set(methods)
    for figures in methods.values():
        assert {"auc", "mrr", "ndcg5", "ndcg10", "impressions"} <= set(figures)
    assert methods["tidings"]["auc"] > methods["popularity"]["auc"]
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    missing = CliRunner().invoke(app, ["evaluate", "mind", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no such" in missing.stderr
