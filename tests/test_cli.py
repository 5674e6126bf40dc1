"""The `tidings` command as a user types it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tidings.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_seed_capture_ingests_and_shows_the_clean_article(db: str, shared: Path) -> None:
    code, out = run("ingest", str(shared / "seed/000_423f00d2bfa5128c.txt"), "--json", "--db", db)
    assert code == 0, out
    line = json.loads(out)
    assert (line["kind"], line["status"], line["error"]) == ("capture", "ok", None)
    code, out = run("articles", "show", str(line["articles"][0]), "--json", "--db", db)
    article = json.loads(out)
    assert article["title"] == (
        "China vows to work with North Korea to protect regional stability "
        "as tensions with Seoul escalate"
    )
    assert len(article["key_points"]) == 2
    assert article["key_points"][0].startswith("Communist Party diplomatic chief Liu Jianchao")
    assert article["image"]["credit"] == "VCG/VCG via Getty Images"
    assert article["media"] == [
        {
            "kind": "video",
            "title": "North Korean constitution change raises threat of nuclear war "
            "as it declares South its ‘top enemy’",
            "duration_seconds": 236,
            "url": None,
        }
    ]
    assert [t["name"] for t in article["topics"] if t["kind"] == "label"] == ["North Korea"]
    assert {"Kim Jong-un", "Liu Jianchao", "Guam"} <= {e["name"] for e in article["entities"]}
    assert article["section"] and article["story_id"]
    assert len(article["paragraphs"]) == 13
    assert article["paragraphs"][-1].endswith("hit US bases in Guam.")


def test_the_article_shows_readably_in_the_terminal(db: str, shared: Path) -> None:
    run("ingest", str(shared / "seed/000_423f00d2bfa5128c.txt"), "--db", db)
    code, out = run("articles", "show", "1", "--db", db)
    assert code == 0
    assert "China vows to work with North Korea" in out
    assert "VCG/VCG via Getty Images" in out
    assert "video:" in out and "(3:56)" in out


def test_ingest_names_each_failing_input_and_exits_1(db: str, shared: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, out = run(
        "ingest", str(empty), str(shared / "data/feeds/heise.atom"), "--json", "--db", db
    )
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["status"] == "error" and lines[0]["error"].startswith(str(empty))
    assert "empty" in lines[0]["error"]
    assert lines[1]["status"] == "ok" and len(lines[1]["articles"]) == 15


def test_ingest_fetches_a_feed_over_http(db: str, http_server: str) -> None:
    code, out = run("ingest", f"{http_server}/data/feeds/guardian.rss", "--json", "--db", db)
    assert code == 0, out
    line = json.loads(out)
    assert line["kind"] == "feed" and len(line["articles"]) == 55


def test_an_address_that_does_not_answer_is_a_clear_error(db: str, http_server: str) -> None:
    code, out = run("ingest", f"{http_server}/data/feeds/nope.rss", "--json", "--db", db)
    assert code == 1
    assert "HTTP 404" in json.loads(out)["error"]


def test_articles_list_json_gives_article_objects(db: str, shared: Path) -> None:
    run("ingest", str(shared / "data/feeds/heise.atom"), "--db", db)
    code, out = run("articles", "list", "--limit", "5", "--json", "--db", db)
    items = json.loads(out)
    assert code == 0 and len(items) == 5
    assert set(items[0]) >= {
        "id", "url", "title", "key_points", "paragraphs", "byline",
        "published", "source", "image", "media", "topics",
    }  # fmt: skip


def test_showing_an_unknown_article_fails_with_its_id(db: str) -> None:
    result = runner.invoke(app, ["articles", "show", "42", "--db", db])
    assert result.exit_code == 1
    assert "no article with id 42" in result.stderr


def test_sources_round_trip_through_opml_files(db: str, tmp_path: Path) -> None:
    assert (
        run("sources", "add", "https://example.org/rss", "--title", "Example", "--db", db)[0] == 0
    )
    opml_file = tmp_path / "subs.opml"
    assert run("sources", "export", str(opml_file), "--db", db)[0] == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    code, out = run("sources", "import", str(opml_file), "--db", other)
    assert code == 0 and "1 new" in out
    code, out = run("sources", "list", "--json", "--db", other)
    assert [(s["url"], s["title"]) for s in json.loads(out)] == [
        ("https://example.org/rss", "Example")
    ]
    assert run("sources", "remove", "https://example.org/rss", "--db", other)[0] == 0


def test_the_demo_command_loads_the_bundled_corpus_once(db: str) -> None:
    # Understanding thousands of articles is the benchmark's business; the pipeline has its
    # own tests (test_understand.py).
    code, out = run("demo", "--no-understand", "--json", "--db", db)
    report = json.loads(out)
    assert code == 0 and report["stored"] >= 2000
    code, out = run("demo", "--no-understand", "--json", "--db", db)
    assert json.loads(out)["ingest"]["added"] == 0


def test_the_demo_command_needs_no_models_the_pack_is_already_understood(db: str) -> None:
    code, out = run("demo", "--json", "--db", db)
    report = json.loads(out)
    assert code == 0
    assert report["ingest"]["understood_from_pack"] == report["stored"] == 8866
    assert report["understand"]["articles"] == 0  # nothing was left for the models
    assert report["stories"] < 8866  # many outlets' headlines share a story


def test_evaluate_pages_reports_how_much_text_was_found(shared: Path, tmp_path: Path) -> None:
    expected = json.loads((shared / "data/pages/expected.json").read_text())
    picked = dict(list(expected.items())[:3])
    (tmp_path / "html").mkdir()
    for spec in picked.values():
        page = shared / "data/pages/html" / spec["file"]
        (tmp_path / "html" / spec["file"]).write_bytes(page.read_bytes())
    (tmp_path / "expected.json").write_text(json.dumps(picked))
    code, out = run("evaluate", "pages", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 0 and report["pages"] == 3
    assert report["with_total"] == sum(len(s["with"]) for s in picked.values())
    assert 0 <= report["pass_rate"] <= 1


def test_evaluate_pages_needs_a_labelled_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "pages", str(tmp_path)])
    assert result.exit_code == 1 and "no expected.json" in result.stderr


def test_ingest_reads_an_article_page_over_http(db: str, http_server: str) -> None:
    code, out = run(
        "ingest", f"{http_server}/data/pages/html/abc13.com-Copperfield.html", "--json", "--db", db
    )
    line = json.loads(out)
    assert code == 0 and line["kind"] == "page", out
    code, out = run("articles", "show", str(line["articles"][0]), "--json", "--db", db)
    article = json.loads(out)
    assert article["title"].startswith("Aisha's Salon and Spa chain bans men")
    labels = [t["name"] for t in article["topics"]]
    assert "crime-safety" in labels and "harris county sheriffs office" in labels
    assert article["url"].startswith(http_server)
    assert len(article["paragraphs"]) >= 3


def test_stories_commands_show_a_story_and_its_timeline(db: str, shared: Path) -> None:
    code, out = run("ingest", str(shared / "data/feeds/guardian.rss"), "--json", "--db", db)
    assert code == 0
    code, out = run("stories", "list", "--json", "--db", db)
    listed = json.loads(out)
    assert code == 0 and listed
    code, out = run("stories", "show", str(listed[0]["id"]), "--json", "--db", db)
    story = json.loads(out)
    assert story["headline"] and story["timeline"][0]["title"]
    code, out = run("stories", "show", str(listed[0]["id"]), "--db", db)
    assert code == 0 and story["headline"][:30] in out


def test_understand_all_reprocesses_every_article(db: str, shared: Path) -> None:
    run("ingest", str(shared / "data/feeds/heise.atom"), "--db", db)
    code, out = run("understand", "--json", "--db", db)
    assert code == 0 and json.loads(out)["articles"] == 0  # ingest already understood them
    code, out = run("understand", "--all", "--json", "--db", db)
    assert json.loads(out)["articles"] == 15


def test_evaluate_stories_prints_the_figures_for_a_pairs_file(shared: Path, tmp_path: Path) -> None:
    with (shared / "data/stories/semeval2022_train.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["lang1"] == r["lang2"] == "en"][:24]
    small = tmp_path / "pairs.csv"
    with small.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, out = run("evaluate", "stories", str(small), "--json")
    figures = json.loads(out)
    assert code == 0 and set(figures) == {"pearson", "f1", "threshold", "pairs"}
    assert figures["pairs"] > 0 and -1 <= figures["pearson"] <= 1


def test_serve_takes_the_public_address_before_the_app_is_made(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import uvicorn

    import tidings.web

    monkeypatch.setenv("TIDINGS_BASE_URL", "unset")  # restored after the test: serve sets it
    monkeypatch.delenv("TIDINGS_BASE_URL")
    seen: dict[str, str | None] = {}

    def create_app(store: object, **options: object) -> str:
        seen["at create_app"] = os.environ.get("TIDINGS_BASE_URL")
        return "app"

    monkeypatch.setattr(tidings.web, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.setdefault("ran", app))
    code, out = run(
        "serve", "--no-demo", "--no-poll", "--base-url", "https://news.example/", "--db", db
    )
    assert code == 0, out
    assert seen == {"at create_app": "https://news.example", "ran": "app"}
    result = runner.invoke(
        app, ["serve", "--no-demo", "--base-url", "ftp://news.example", "--db", db]
    )
    assert result.exit_code == 2 and "--base-url" in result.output


def test_ingesting_a_folder_says_how_many_files_were_not_news(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    capture = Path(__file__).parent / "fixtures/captures/guardian_style_windfarm.txt"
    (folder / "windfarm.txt").write_bytes(capture.read_bytes())
    (folder / "LICENSE.txt").write_text("Permission is hereby granted, free of charge. " * 30)
    result = runner.invoke(app, ["ingest", str(folder), "--no-understand", "--db", db])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())  # as read, whatever the terminal's width
    assert "1 of 1 inputs read: 1 added" in said and "1 not news, skipped" in said
    assert "LICENSE.txt" in result.stderr and "not news" in result.stderr
