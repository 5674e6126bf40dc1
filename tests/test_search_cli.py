"""`tidings search` and `tidings searches` as a user types them, on a store of the page
captures in tests/fixtures (understood once for the module; each test uses readers of its
own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tests.conftest import fresh_database
from tidings.cli import app
from tidings.library import Tidings

CAPTURES = Path(__file__).parent / "fixtures/captures"
FERRY = "Ferry operator fined £120,000 after lorry plunged into Ullapool harbour"
WINDFARM = "World's largest offshore windfarm starts sending power to the grid off Yorkshire"

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path_factory.mktemp("search_cli")) as url:
        with Tidings(url) as tidings:
            results = tidings.ingest([str(p) for p in sorted(CAPTURES.glob("*.txt"))])
            assert all(r.status == "ok" for r in results)
            tidings.understand()
        yield url


def invoke(db: str, *args: str, columns: int = 160) -> Result:
    return runner.invoke(app, [*args, "--db", db], env={"COLUMNS": str(columns)})


def search_json(db: str, *args: str) -> dict[str, Any]:
    result = invoke(db, "search", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_best_match_is_the_first_row_of_the_table(db: str) -> None:
    result = invoke(db, "search", "ferry lorry harbour")
    assert result.exit_code == 0, result.output
    assert FERRY in result.stdout
    rows = [line for line in result.stdout.splitlines() if "│" in line and "Ferry" in line]
    assert rows and rows[0].split("│")[1].strip() == "1"  # the ferry story is ranked 1


def test_a_query_with_markup_characters_is_printed_as_typed(db: str) -> None:
    result = invoke(db, "search", "[bold]ferry[/bold] [red]")
    assert result.exit_code == 0, result.output
    assert "'[bold]ferry[/bold] [red]'" in result.stdout


def test_json_hits_carry_the_article_fields_and_why_they_matched(db: str) -> None:
    page = search_json(db, "offshore windfarm")
    first = page["hits"][0]
    assert page["query"] == "offshore windfarm"
    assert first["title"] == WINDFARM
    shown = invoke(db, "articles", "show", str(first["id"]), "--json")
    article = json.loads(shown.stdout)
    assert set(first) >= set(article) | {"score", "story_id", "snippet", "rank", "reason"}
    assert first["story_id"] == article["story_id"]
    assert first["reason"]["text"]
    marked = [first["snippet"][start:end].lower() for start, end in first["highlights"]]
    assert any(word.startswith(("offshore", "windfarm")) for word in marked)


def test_limit_pages_and_the_cursor_gives_the_rest_without_repeats(db: str) -> None:
    query = "ferry windfarm exports blackouts voters"
    first = search_json(db, query, "--limit", "2")
    assert len(first["hits"]) == 2 and first["next_cursor"]
    second = search_json(db, query, "--limit", "2", "--cursor", first["next_cursor"])
    ids = [h["id"] for h in first["hits"] + second["hits"]]
    assert second["hits"] and len(ids) == len(set(ids))
    assert second["hits"][0]["rank"] == 3  # ranks go on from the page before


def test_an_excluded_word_may_open_the_query(db: str) -> None:
    titles = [h["title"] for h in search_json(db, "-lorry ferry harbour windfarm")["hits"]]
    assert FERRY not in titles
    assert WINDFARM in titles


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("x" * 10240, "query: 10,240 characters; at most 500"),
        ("", "query"),
        ("ferry before:notadate", "query"),
    ],
)
def test_a_bad_query_is_one_line_naming_it_and_exit_1(db: str, query: str, says: str) -> None:
    result = invoke(db, "search", query)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert result.stderr.startswith("error: ") and says in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "query", ['"unbalanced ferry', "ferry*", "NEAR(ferry", "a OR", "ferry ^:()"]
)
def test_search_syntax_characters_never_fail(db: str, query: str) -> None:
    result = invoke(db, "search", query, "--json")
    assert result.exit_code == 0, result.output
    assert "hits" in json.loads(result.stdout)


def test_searching_for_an_unknown_reader_names_them(db: str) -> None:
    result = invoke(db, "search", "ferry", "--reader", "nobody-here")
    assert result.exit_code == 1 and "nobody-here" in result.stderr


def test_a_reader_ranked_search_still_finds_the_match(db: str) -> None:
    assert invoke(db, "readers", "add", "rina", "--follow", "Weather").exit_code == 0
    page = search_json(db, "ferry lorry harbour", "--reader", "rina")
    assert page["hits"][0]["title"] == FERRY


def test_follow_list_and_unfollow_a_search(db: str) -> None:
    assert invoke(db, "readers", "add", "ana").exit_code == 0
    followed = invoke(db, "searches", "follow", "ana", "offshore wind")
    assert followed.exit_code == 0, followed.output
    assert "offshore wind" in followed.stdout and "/search/" in followed.stdout

    listed = json.loads(invoke(db, "searches", "list", "ana", "--json").stdout)
    assert [s["query"] for s in listed] == ["offshore wind"]
    search_id = listed[0]["id"]
    assert len(search_id) == 12 and listed[0]["feed_url"].endswith(f"/search/{search_id}.atom")
    table = invoke(db, "searches", "list", "ana")
    assert search_id in table.stdout and "offshore wind" in table.stdout

    gone = invoke(db, "searches", "unfollow", "ana", search_id)
    assert gone.exit_code == 0 and "no longer follows" in gone.stdout
    assert json.loads(invoke(db, "searches", "list", "ana", "--json").stdout) == []
    assert "follows no searches" in invoke(db, "searches", "list", "ana").stdout


def test_a_search_is_unfollowed_by_its_query_too(db: str) -> None:
    assert invoke(db, "readers", "add", "ben").exit_code == 0
    assert invoke(db, "searches", "follow", "ben", '"rolling blackouts"').exit_code == 0
    assert invoke(db, "searches", "unfollow", "ben", '"rolling blackouts"').exit_code == 0
    assert json.loads(invoke(db, "searches", "list", "ben", "--json").stdout) == []


def test_saved_searches_of_an_unknown_reader_name_them(db: str) -> None:
    result = invoke(db, "searches", "list", "nobody-here")
    assert result.exit_code == 1 and "nobody-here" in result.stderr
