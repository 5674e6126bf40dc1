"""Bulk files: JSON Lines of articles and MIND news.tsv, on the real data and on small fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tidings.errors import ParseError
from tidings.ingest import jsonl, mind
from tidings.models import Document, Image


def _doc(path: Path) -> Document:
    return Document(name=str(path), data=path.read_bytes())


def _non_blank_lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().split(b"\n") if line.strip())


# --- JSON Lines: real data --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "count"), [("wikinews_2004_2018.jsonl", 7041), ("wikinews_2019_2021.jsonl", 295)]
)
def test_wikinews_file_gives_an_article_per_line(shared: Path, file: str, count: int) -> None:
    path = shared / "data" / "wikinews" / file
    parsed = jsonl.parse(_doc(path))
    # Every line has a title, so none is skipped (977 old ones have no text: title-only).
    assert parsed.warnings == []
    assert len(parsed.articles) == _non_blank_lines(path)
    assert len(parsed.articles) == count
    assert all(a.title for a in parsed.articles)
    assert jsonl.looks_like_jsonl(path.read_bytes()[:4096])


def test_wikinews_fields_are_mapped(shared: Path) -> None:
    path = shared / "data" / "wikinews" / "wikinews_2004_2018.jsonl"
    first_line = path.read_text(encoding="utf-8").split("\n", 1)[0]
    row = json.loads(first_line)
    article = jsonl.parse(_doc(path)).articles[0]
    assert article.external_id == row["id"] == "enwikinews-736"
    assert article.title == row["title"]
    assert article.url == row["url"]
    assert article.published == datetime(2004, 11, 13, tzinfo=UTC)
    assert article.labels == ["Politics and conflicts"]
    assert article.paragraphs[0].startswith("Brazil Hu Jintao")  # the parser does not clean
    assert article.raw == first_line


def test_wikinews_blank_line_paragraphs_are_split(shared: Path) -> None:
    path = shared / "data" / "wikinews" / "wikinews_2019_2021.jsonl"
    article = jsonl.parse(_doc(path)).articles[0]
    assert len(article.paragraphs) > 5
    assert article.paragraphs[0].startswith("An apartment building collapsed")
    assert all("\n" not in p for p in article.paragraphs)


# --- JSON Lines: fixtures ---------------------------------------------------------------------


def test_jsonl_optional_fields(tmp_path: Path) -> None:
    line = {
        "id": 42,
        "title": "  Rates  held ",
        "url": "https://example.org/rates",
        "published": "2024-03-01T09:30:00+01:00",
        "text": "First paragraph.\n\nSecond paragraph.",
        "categories": ["Economy", "economy", "Banks"],
        "byline": "A. Writer",
        "source": "Example Times",
        "key_points": ["Rates unchanged", "Next review in May"],
        "image": {"url": "https://example.org/a.jpg", "caption": "The bank", "credit": "Ex"},
        "language": "en",
        "summary": "The bank kept rates where they were.",
    }
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    [article] = jsonl.parse(_doc(path)).articles
    assert article.external_id == "42"
    assert article.title == "Rates held"
    assert article.published == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    assert article.labels == ["Economy", "Banks"]
    assert article.byline == "A. Writer"
    assert article.source == "Example Times"
    assert article.key_points == ["Rates unchanged", "Next review in May"]
    assert article.image == Image(url="https://example.org/a.jpg", caption="The bank", credit="Ex")
    assert article.language == "en"
    # The summary leads, then the text's paragraphs.
    assert article.paragraphs == [
        "The bank kept rates where they were.",
        "First paragraph.",
        "Second paragraph.",
    ]


def test_jsonl_image_as_string_and_author_alias(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    path.write_text(
        json.dumps({"title": "T", "image": "https://e.org/p.png", "author": ["Ann", "Bo"]}),
        encoding="utf-8",
    )
    [article] = jsonl.parse(_doc(path)).articles
    assert article.image == Image(url="https://e.org/p.png")
    assert article.byline == "Ann, Bo"
    assert article.paragraphs == [] and article.url is None and article.published is None


def test_jsonl_bad_lines_are_skipped_with_their_line_number(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "Good one", "text": "Body."}),
        "",
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"url": "https://example.org/x"}),
        json.dumps({"title": 7, "text": "numbers are not titles"}),
        json.dumps({"text": "No title, but text to show.", "id": "t2"}),
        json.dumps({"title": "Good two"}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe broken\n")
    parsed = jsonl.parse(_doc(path))
    assert [a.title for a in parsed.articles] == [
        "Good one",
        "No title, but text to show.",
        "Good two",
    ]
    assert parsed.warnings[0].startswith("line 3: not valid JSON")
    assert parsed.warnings[1] == "line 4: not a JSON object but an array"
    assert parsed.warnings[2] == "line 5: has neither a title nor any text"
    assert parsed.warnings[3] == "line 6: title is a number, not a string"
    assert parsed.warnings[4].startswith("line 9: not UTF-8 text")
    assert len(parsed.warnings) == 5


def test_jsonl_without_any_article_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("[1]\n{}\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"no line holds an article: line 1: not a JSON object"):
        jsonl.parse(_doc(path))
    with pytest.raises(ParseError, match="the file is empty"):
        jsonl.parse(Document(name="empty.jsonl", data=b"\n \n"))


def test_looks_like_jsonl() -> None:
    assert jsonl.looks_like_jsonl(b'\n{"title": "x", "text": "y"}\n{"title": "z"}\n')
    assert jsonl.looks_like_jsonl(b'{"url": "https://e.org", "text": "cut off by the he')
    assert not jsonl.looks_like_jsonl(b'{"name": "x"}\n')
    assert not jsonl.looks_like_jsonl(b'{\n  "title": "pretty printed"\n}\n')
    assert not jsonl.looks_like_jsonl(
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Feed", "items": []}'
    )
    assert not jsonl.looks_like_jsonl(b"<rss version='2.0'>")
    assert not jsonl.looks_like_jsonl(b"N1\tnews\tnewsworld\tTitle\t\t\t[]\t[]\n")
    assert not jsonl.looks_like_jsonl(b"")


# --- MIND -------------------------------------------------------------------------------------


def test_mind_news_file_gives_every_row(shared: Path) -> None:
    path = shared / "data" / "mind" / "news.tsv"
    parsed = mind.parse(_doc(path))
    assert parsed.warnings == []
    assert len(parsed.articles) == 12231
    assert len({a.external_id for a in parsed.articles}) == 12231
    assert all(a.source == "MIND" and a.title for a in parsed.articles)
    assert mind.looks_like_mind(path.read_bytes()[:4096])
    assert mind.looks_like_mind(path.read_bytes()[:200])  # cut inside the first row

    first = parsed.articles[0]
    assert first.external_id == "N7"
    assert first.title == "Trump defiant after day of Democrat wins"
    assert first.labels == ["video", "news"]
    assert first.url == "https://assets.msn.com/labs/mind/AAJZKtL.html"
    assert first.paragraphs[0].startswith("U.S. President Donald Trump struck a defiant note")
    assert first.raw.startswith("N7\tvideo\tnews\t") and first.raw.count("\t") == 7
    by_id = {a.external_id: a for a in parsed.articles}
    assert by_id["N28"].labels == ["news", "newspolitics"]
    assert by_id["N28"].url is None
    # Pseudo rows (title only, no category) still go in.
    assert by_id["X000045f415"].labels == [] and by_id["X000045f415"].paragraphs == []


def test_mind_bad_rows_are_skipped_with_their_line_number(tmp_path: Path) -> None:
    rows = [
        "N1\tsports\tsports\tA title\tAn abstract.\thttps://e.org/1\t[]\t[]",
        "N2\tnews\tnews\tSix columns\t\t",
        "only\ttwo",
        "\tnews\tnewsus\tNo id\t\t\t[]\t[]",
        "N3\tnews\tnewsus\t \tabstract only\t\t[]\t[]",
        "",
        "N4\tfinance\tmarkets\tSeven columns\tBody\thttps://e.org/4\t[]",
        "N5\ta\tb\tc\td\te\tf\tg\th",
    ]
    path = tmp_path / "news.tsv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    parsed = mind.parse(_doc(path))
    assert [a.external_id for a in parsed.articles] == ["N1", "N2", "N4"]
    assert parsed.articles[1].labels == ["news"]  # category and subcategory deduplicated
    assert parsed.warnings == [
        "line 3: expected 6 to 8 tab-separated columns, found 2",
        "line 4: no news id in the first column",
        "line 5: news N3 has no title",
        "line 8: expected 6 to 8 tab-separated columns, found 9",
    ]


def test_mind_without_any_row_fails(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="no row holds a MIND news article: line 1: expected"):
        mind.parse(Document(name="x.tsv", data=b"a,b,c\n"))
    with pytest.raises(ParseError, match="the file is empty"):
        mind.parse(Document(name="x.tsv", data=b""))


def test_looks_like_mind(shared: Path) -> None:
    assert mind.looks_like_mind(b"N1\tnews\tnewsus\tTitle\tAbstract\thttps://e.org\t[]\t[]\n")
    assert not mind.looks_like_mind(b"id\tcategory\tsubcategory\ttitle\tabstract\turl\n")
    assert not mind.looks_like_mind((shared / "data" / "mind" / "behaviors.tsv").read_bytes())
    assert not mind.looks_like_mind(b'{"title": "x"}\n')
    assert not mind.looks_like_mind(b"")
