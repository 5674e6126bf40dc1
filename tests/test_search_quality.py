"""Search quality on real articles: a reader typing one outlet's headline finds the other
outlet's report of the same story near the top, by words, by meaning and by both (the eval
gate; see tidings/evaluate/search.py for the method, floors.py for the figures)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tidings.cli import app
from tidings.evaluate import floors
from tidings.evaluate.search import (
    DEPTH,
    QUERY_WORDS,
    SearchReport,
    evaluate_search,
    rank_of,
    read_pairs,
    split_title,
)

PAIRS = "data/stories/semeval2022_train.csv"


@pytest.fixture(scope="module")
def report(shared: Path) -> SearchReport:
    """Every mode scored once on the English corpus (20 s on two busy cores, nearly all of
    it embedding the 596 articles)."""
    return evaluate_search(shared / PAIRS)


def _line(report: SearchReport) -> str:
    return json.dumps(report.to_dict()["modes"])


def test_a_headline_finds_the_other_outlets_report_of_the_story(report: SearchReport) -> None:
    fused = report.score("fused")
    assert (report.corpus, fused.queries) == (596, 72)
    assert fused.recall_at_10 >= floors.SEARCH_FUSED_RECALL10, _line(report)
    assert fused.mrr >= floors.SEARCH_FUSED_MRR, _line(report)


def test_words_alone_and_meaning_alone_each_find_most_of_them(report: SearchReport) -> None:
    words, meaning = report.score("words"), report.score("meaning")
    assert words.recall_at_10 >= floors.SEARCH_WORDS_RECALL10, _line(report)
    assert words.mrr >= floors.SEARCH_WORDS_MRR, _line(report)
    assert meaning.recall_at_10 >= floors.SEARCH_MEANING_RECALL10, _line(report)
    assert meaning.mrr >= floors.SEARCH_MEANING_MRR, _line(report)


def test_fusing_words_and_meaning_loses_none_of_the_first_ten(report: SearchReport) -> None:
    # Why search fuses: each way alone misses a few a reader would want on the first page.
    fused = report.score("fused").found_at_10
    assert fused >= report.score("words").found_at_10, _line(report)
    assert fused >= report.score("meaning").found_at_10, _line(report)


def test_queries_are_titles_or_the_opening_words_of_a_text_without_one(shared: Path) -> None:
    corpus, queries, pairs = read_pairs(shared / PAIRS)
    assert pairs == 36 and len(queries) == 2 * pairs
    assert all(corpus[q.own].language == "en" == corpus[q.wanted].language for q in queries)
    assert all(q.overall <= 1.5 for q in queries)
    titled = [q for q in queries if q.titled]
    assert all(q.text == corpus[q.own].title for q in titled)
    assert all(len(q.text.split()) == QUERY_WORDS for q in queries if not q.titled)
    rose = "Rose Parade 2020: See the coolest floats\n(CNN) Is it really New Year's Day"
    assert split_title(rose) == ("Rose Parade 2020: See the coolest floats", rose[41:])
    one_line = " Apple strikes new deal with UK chip designer it sidelined in 2017 Apple previously"
    assert split_title(one_line) == ("", one_line)


def test_the_rank_counted_leaves_the_querys_own_article_out() -> None:
    assert rank_of([7, 3, 9], wanted=9, own=7) == 2
    assert rank_of([3, 9], wanted=9, own=7) == 2
    assert rank_of([*range(1000, 1000 + DEPTH), 9], wanted=9, own=7) is None


def test_evaluate_search_prints_a_table_and_json(shared: Path, tmp_path: Path) -> None:
    # A few real pairs (8 English pairs, 3 of them the same story) keep this quick.
    with (shared / PAIRS).open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["lang1"] == r["lang2"] == "en"]
    same = [r for r in rows if float(r["Overall"]) <= 1.5][:3]
    small = tmp_path / "pairs.csv"
    with small.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(same + [r for r in rows if float(r["Overall"]) >= 3][:5])
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "search", str(small), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert (figures["corpus"], figures["pairs"]) == (16, 3)
    assert [m["mode"] for m in figures["modes"]] == ["words", "meaning", "fused"]
    assert all(m["queries"] == 6 and 0 <= m["recall_at_10"] <= 1 for m in figures["modes"])
    result = runner.invoke(app, ["evaluate", "search", str(small)])
    assert result.exit_code == 0, result.output
    assert "recall@10" in result.stdout and "fused" in result.stdout
    result = runner.invoke(app, ["evaluate", "search", str(tmp_path / "missing.csv")])
    assert result.exit_code != 0 and "missing.csv" in result.output
