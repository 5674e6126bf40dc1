"""Hostile input at the ingest door: parser crashes stay inside the input that caused them,
text is stored without characters XML or PostgreSQL refuse, and only http(s) links and
pictures are kept (issue 11, classes 3, 4, 9 and 12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from tidings.errors import FetchError, ParseError
from tidings.ingest import jsonfeed, opml, pipeline
from tidings.library import Tidings
from tidings.models import Article, Document, Image, Media, ParsedArticle
from tidings.store import articles as article_store
from tidings.store.schema import articles

DEEP = 50_000
FEED_VERSION = "https://jsonfeed.org/version/1.1"
# Every character the door must not let through: C0 controls, DEL, C1, NUL, a lone surrogate.
BAD = "\x01\x02\x08\x0b\x0c\x1b\x7f\x85\x00\ud800"


def _deep_json(depth: int = DEEP) -> bytes:
    return b"[" * depth + b"]" * depth


def _line(**fields: object) -> bytes:
    return json.dumps(fields).encode("utf-8")


def _json_feed(*items: dict[str, object], version: str = FEED_VERSION) -> bytes:
    return json.dumps({"version": version, "title": "Feed", "items": list(items)}).encode()


def _has_bad_characters(text: str) -> bool:
    return any(c in text for c in BAD) or any("\ud800" <= c <= "\udfff" for c in text)


def _texts(article: Article) -> list[str]:
    image = article.image
    return [
        article.title,
        *article.key_points,
        *article.paragraphs,
        article.byline or "",
        article.source or "",
        article.language or "",
        article.external_id or "",
        image.caption or "" if image else "",
        image.credit or "" if image else "",
        *(m.title or "" for m in article.media),
        *(t.name for t in article.topics),
    ]


def _urls(article: Article) -> list[str | None]:
    return [article.url, article.image.url if article.image else None] + [
        m.url for m in article.media
    ]


# -- class 3: parser crashes escape ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [_deep_json(), b'{"a":' * DEEP + b"1" + b"}" * DEEP],
    ids=["array", "object"],
)
def test_a_json_document_nested_50000_deep_is_refused_as_nested_too_deeply(data: bytes) -> None:
    with pytest.raises(ParseError, match="nested too deeply"):
        pipeline.parse(Document(name="deep.json", data=data))


def test_a_json_feed_nested_50000_deep_is_refused_as_nested_too_deeply() -> None:
    data = b'{"version": "%s", "items": %s}' % (FEED_VERSION.encode(), _deep_json())
    with pytest.raises(ParseError, match="nested too deeply"):
        pipeline.parse(Document(name="feed.json", data=data))


def test_a_json_lines_file_with_one_over_deep_line_keeps_its_other_articles(
    tidings: Tidings,
) -> None:
    data = b"\n".join(
        [
            _line(title="First", text="One.", url="https://e.example/1"),
            b'{"title": ' + _deep_json() + b"}",
            _line(title="Third", text="Three.", url="https://e.example/3"),
        ]
    )
    result = tidings.ingest_document(Document(name="a.jsonl", data=data))
    assert result.status == "ok", result.error
    assert [tidings.article(i).title for i in result.articles] == ["First", "Third"]
    assert any(w.startswith("line 2:") and "nested too deeply" in w for w in result.warnings)


def test_a_json_lines_file_whose_first_line_is_over_deep_keeps_the_rest() -> None:
    data = b'{"title": ' + _deep_json() + b"}\n" + _line(title="Second", text="Two.")
    kind, parsed = pipeline.parse(Document(name="a.jsonl", data=data))
    assert kind == "jsonl"
    assert [a.title for a in parsed.articles] == ["Second"]
    assert parsed.warnings == ["line 1: not valid JSON (nested too deeply to read)"]


def test_a_batch_goes_on_after_a_deeply_nested_file(tmp_path: Path, tidings: Tidings) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    first, deep, last = folder / "1.jsonl", folder / "2.json", folder / "3.jsonl"
    first.write_bytes(_line(title="Before", text="Read first."))
    deep.write_bytes(_deep_json())
    last.write_bytes(_line(title="After", text="Read last."))
    results = list(tidings.ingest([str(folder)]))
    assert [r.status for r in results] == ["ok", "error", "ok"]
    assert results[1].error == f"{deep}: not valid JSON: nested too deeply to read"


def test_a_parser_bug_is_a_parse_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(doc: Document) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(jsonfeed, "parse", broken)
    with pytest.raises(ParseError, match=r"could not be read \(KeyError: 'oops'\)"):
        pipeline.parse(Document(name="f.json", data=_json_feed()))


def test_a_parser_running_out_of_memory_is_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def greedy(doc: Document) -> None:
        raise MemoryError

    monkeypatch.setattr(jsonfeed, "parse", greedy)
    with pytest.raises(ParseError, match="too large to read into memory"):
        pipeline.parse(Document(name="f.json", data=_json_feed()))


def test_a_name_too_long_for_the_file_system_is_a_fetch_error() -> None:
    with pytest.raises(FetchError):
        pipeline.read("x" * 5000)


def test_a_batch_goes_on_after_a_name_the_file_system_refuses(
    tmp_path: Path, tidings: Tidings
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(_line(title="Still read", text="Yes."))
    results = list(tidings.ingest(["x" * 5000, "bad\x00name", str(good)]))
    assert [r.status for r in results] == ["error", "error", "ok"]


def test_a_json_lines_line_with_a_lone_surrogate_title_is_stored_with_a_replacement_character(
    tidings: Tidings,
) -> None:
    data = b'{"title": "Caf\\ud800 opens", "text": "Body.", "url": "https://e.example/1"}\n'
    result = tidings.ingest_document(Document(name="s.jsonl", data=data))
    assert result.status == "ok", result.error
    assert tidings.article(result.articles[0]).title == "Caf\ufffd opens"


def test_a_json_feed_item_with_a_lone_surrogate_title_is_stored_with_a_replacement_character(
    tidings: Tidings,
) -> None:
    data = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Feed \\udfff",'
        b' "items": [{"id": "1", "title": "Bad \\ud800 title", "content_text": "Body \\udc00."}]}'
    )
    result = tidings.ingest_document(Document(name="s.json", data=data))
    assert result.status == "ok", result.error
    article = tidings.article(result.articles[0])
    assert (article.title, article.paragraphs, article.source) == (
        "Bad \ufffd title",
        ["Body \ufffd."],
        "Feed \ufffd",
    )


def test_a_json_feed_item_that_is_not_an_object_is_a_warning_naming_it() -> None:
    data = _json_feed({"id": "1", "title": "Good", "content_text": "x"}, 7)  # type: ignore[arg-type]
    _, parsed = pipeline.parse(Document(name="f.json", data=data))
    assert [a.title for a in parsed.articles] == ["Good"]
    assert parsed.warnings == ["skipped item 2: TypeError: item is a number, not an object"]


def test_an_opml_outline_with_a_feed_address_that_is_not_http_is_skipped_and_named() -> None:
    data = (
        b'<opml version="2.0"><body>'
        b'<outline text="Bad" xmlUrl="javascript:alert(1)"/>'
        b'<outline text="Good" xmlUrl="https://good.example/rss" htmlUrl="javascript:x()"/>'
        b'<outline text="Port" xmlUrl="https://e.example:99999/rss"/>'
        b"</body></opml>"
    )
    warnings: list[str] = []
    outlines = opml.read(data, warnings)
    assert outlines == [opml.Outline("https://good.example/rss", "Good", None)]
    assert [w.split(":")[0] for w in warnings] == [
        "skipped outline 1 ('Bad')",
        "skipped outline 3 ('Port')",
    ]


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"<opml>" * 5000, b"<?xml version='1.0'?><!-- only a comment -->", b"\xff\xfe"],
    ids=["empty", "blank", "deep", "comment", "bom"],
)
def test_a_broken_opml_list_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="not OPML"):
        opml.read(data)


# -- class 4: characters XML or PostgreSQL refuse -------------------------------------------


def test_an_article_title_with_a_control_character_is_stored_without_it(tidings: Tidings) -> None:
    data = _line(title="Head\u0001line\x00", text="Body\x1b text.", url="https://e.example/1")
    result = tidings.ingest_document(Document(name="c.jsonl", data=data))
    assert result.status == "ok", result.error
    article = tidings.article(result.articles[0])
    assert (article.title, article.paragraphs) == ("Headline", ["Body text."])


def test_a_feed_entry_with_a_character_reference_to_a_control_is_stored_without_it(
    tidings: Tidings,
) -> None:
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire&#1;</title>'
        b"<item><title>Alert&#1; issued</title><link>https://e.example/a</link>"
        b"<description>Text&#27; here.</description></item></channel></rss>"
    )
    result = tidings.ingest_document(Document(name="c.rss", data=data))
    assert result.status == "ok", result.error
    article = tidings.article(result.articles[0])
    assert not any(_has_bad_characters(t) for t in _texts(article)), _texts(article)


def test_every_text_field_of_a_saved_article_is_cleaned(tidings: Tidings) -> None:
    """The store is the door full-text fetch and polling pass too, so it cleans by itself."""
    parsed = ParsedArticle(
        title=f"Title{BAD}",
        url=f"https://e.example/{BAD[:3]}x",
        external_id=f"id{BAD}",
        key_points=[f"Point{BAD}", "\x01\x00 "],
        paragraphs=[f"Para{BAD}graph", "\x00"],
        byline=f"By{BAD}",
        language=f"en{BAD}",
        source=f"Source{BAD}",
        image=Image(url="https://e.example/i.jpg", caption=f"Cap{BAD}", credit=f"Cr{BAD}"),
        media=[Media(kind="video", title=f"Vid{BAD}", url="https://e.example/v.mp4")],
        labels=[f"Label{BAD}", "\x7f"],
        raw=f"raw{BAD}",
    )
    with tidings.engine.begin() as connection:
        saved = article_store.save(
            connection, parsed, key="https://e.example/k", kind="page", now=datetime.now(UTC)
        )
    article = tidings.article(saved.id)
    assert not any(_has_bad_characters(t) for t in _texts(article)), _texts(article)
    assert article.paragraphs == ["Para\ufffdgraph"] and article.key_points == ["Point\ufffd"]
    assert [t.name for t in article.topics] == ["Label\ufffd"]
    assert not _has_bad_characters(tidings.raw_payload(saved.id).replace("\ufffd", ""))


# -- class 9: unsafe URL schemes are stored -------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "//e.example/x",
        "https://",
        "https://e.example:99999/x",
        "java\nscript:alert(1)",
    ],
)
def test_links_and_pictures_from_json_lines_that_are_not_http_never_reach_an_article(
    tidings: Tidings, url: str
) -> None:
    data = _line(title="T", text="Body.", url=url, image={"url": url, "caption": "C"})
    result = tidings.ingest_document(Document(name="u.jsonl", data=data))
    assert result.status == "ok", result.error
    article = tidings.article(result.articles[0])
    assert article.url is None
    assert article.image == Image(url=None, caption="C")


def test_a_picture_whose_address_has_a_space_is_kept_as_a_browser_would_read_it(
    tidings: Tidings,
) -> None:
    url = "https://e.example/photos/river at dawn.jpg"
    data = _line(title="T", text="Body.", url="https://e.example/a", image={"url": url})
    article = tidings.article(
        tidings.ingest_document(Document(name="u.jsonl", data=data)).articles[0]
    )
    assert article.image is not None
    assert article.image.url == "https://e.example/photos/river%20at%20dawn.jpg"


def test_a_page_with_a_javascript_og_image_keeps_no_picture(tidings: Tidings) -> None:
    prose = " ".join(["The council met on Monday and agreed the new budget for schools."] * 12)
    page = (
        "<html><head><title>Budget agreed</title>"
        '<meta property="og:image" content="javascript:alert(document.cookie)">'
        '<meta property="og:url" content="javascript:alert(2)">'
        f"</head><body><article><h1>Budget agreed</h1><p>{prose}</p><p>{prose}</p></article>"
        "</body></html>"
    ).encode()
    result = tidings.ingest_document(Document(name="p.html", data=page), kind="page")
    assert result.status == "ok", result.error
    article = tidings.article(result.articles[0])
    assert article.image is None and article.url is None


def test_a_saved_article_keeps_only_http_links_and_pictures(tidings: Tidings) -> None:
    """What full-text fetch hands the store (a page's og:image) is checked there too."""
    parsed = ParsedArticle(
        title="T",
        url="javascript:alert(1)",
        image=Image(url="data:image/svg+xml,<svg onload=alert(1)>"),
        media=[
            Media(kind="video", url="vbscript:x"),
            Media(kind="audio", url="http://e.example/a"),
        ],
        paragraphs=["Body."],
    )
    with tidings.engine.begin() as connection:
        saved = article_store.save(
            connection, parsed, key="urn:x", kind="page", now=datetime.now(UTC)
        )
    article = tidings.article(saved.id)
    assert article.image is None
    assert _urls(article) == [None, None, None, "http://e.example/a"]


def test_a_javascript_link_stored_before_the_rule_is_not_served(tidings: Tidings) -> None:
    result = tidings.ingest_document(
        Document(name="o.jsonl", data=_line(title="Old", text="Body.", url="https://e.example/o"))
    )
    with tidings.engine.begin() as connection:
        connection.execute(update(articles).values(url="javascript:alert(1)", image_url="data:x,y"))
    article = tidings.article(result.articles[0])
    assert article.url is None
    assert article.image is None or article.image.url is None


# -- class 12: JSON Feeds with escaped slashes ------------------------------------------------


def test_a_json_feed_with_escaped_slashes_is_recognised() -> None:
    data = (
        b'{"version":"https:\\/\\/jsonfeed.org\\/version\\/1.1","title":"WP",'
        b'"items":[{"id":"1","url":"https:\\/\\/wp.example\\/1","title":"Post",'
        b'"content_html":"<p>Text<\\/p>"}]}'
    )
    kind, parsed = pipeline.parse(Document(name="wp.json", data=data))
    assert kind == "jsonfeed"
    assert [(a.title, a.url) for a in parsed.articles] == [("Post", "https://wp.example/1")]
    assert parsed.warnings == []


def test_a_json_feed_whose_version_comes_last_is_recognised() -> None:
    data = b'{"items":[{"id":"1","title":"Post","content_text":"x"}],' + (
        b'"version":"https:\\/\\/jsonfeed.org\\/version\\/1"}'
    )
    assert pipeline.parse(Document(name="late.json", data=data))[0] == "jsonfeed"


def test_a_json_feed_in_utf16_is_recognised() -> None:
    data = _json_feed({"id": "1", "title": "Wide", "content_text": "x"}).decode().encode("utf-16")
    kind, parsed = pipeline.parse(Document(name="wide.json", data=data))
    assert (kind, [a.title for a in parsed.articles]) == ("jsonfeed", ["Wide"])


def test_json_lines_that_mention_a_json_feed_are_still_json_lines() -> None:
    data = b"\n".join(
        [
            _line(title="About feeds", text="See https://jsonfeed.org/version/1.1 for more."),
            _line(title="Second", text="Two."),
        ]
    )
    assert pipeline.parse(Document(name="l.jsonl", data=data))[0] == "jsonl"


def test_a_truncated_json_feed_still_says_where_its_json_breaks() -> None:
    data = _json_feed({"id": "1", "title": "Cut", "content_text": "x"})[:-20]
    with pytest.raises(ParseError, match="not valid JSON"):
        pipeline.parse(Document(name="cut.json", data=data))


# -- entity tricks (guards: lxml and feedparser refuse them today) ----------------------------

_LAUGHS = (
    '<!ENTITY a "'
    + "x" * 100
    + '">'
    + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(9))
)


def test_a_feed_of_billion_laughs_neither_expands_nor_hangs() -> None:
    data = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{_LAUGHS}]><rss version="2.0"><channel>'
        "<title>T</title><item><title>&j;</title><link>https://e.example/1</link>"
        "<description>x</description></item></channel></rss>"
    ).encode()
    try:
        _, parsed = pipeline.parse(Document(name="laughs.rss", data=data), "feed")
    except ParseError:
        return
    assert all(len(a.title) < 1000 for a in parsed.articles)


def test_an_opml_list_of_billion_laughs_or_external_entities_is_refused() -> None:
    laughs = f'<?xml version="1.0"?><!DOCTYPE opml [{_LAUGHS}]><opml><body>'
    laughs += '<outline text="&j;" xmlUrl="https://e.example/r"/></body></opml>'
    external = (
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<opml><body><outline text="&x;" xmlUrl="https://e.example/r"/></body></opml>'
    )
    for data in (laughs, external):
        with pytest.raises(ParseError, match="not OPML"):
            opml.read(data.encode())


def test_a_feed_with_a_surrogate_character_reference_keeps_its_other_entries() -> None:
    data = (
        b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>W</title>"
        b"<item><title>A &#xD800; B</title><link>https://e.example/a</link></item>"
        b"<item><title>C</title><link>https://e.example/c</link></item></channel></rss>"
    )
    _, parsed = pipeline.parse(Document(name="s.rss", data=data), "feed")
    assert [a.title for a in parsed.articles] == ["A \ufffd B", "C"]
