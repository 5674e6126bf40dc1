"""Fuzzing every parser with small, structured but hostile documents (issue 11).

Each input kind gets documents shaped like the real thing (a JSON Feed with items, an RSS
channel, MIND rows) but filled with what an attacker or a broken exporter sends: control
characters, NULs, lone surrogates, ``javascript:`` URLs, huge numbers, wrong JSON types,
nesting, markup cut off anywhere. Whatever comes in, only a :class:`TidingsError` may come
out of ``pipeline.parse`` or ``opml.read``; every article that comes out (and every one
stored) has clean text and only http(s) links; and each input stays within a time and
memory budget. Runs are derandomized, so a failure reproduces.
"""

from __future__ import annotations

import contextlib
import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidings.errors import TidingsError
from tidings.ingest import opml, pipeline
from tidings.library import Tidings
from tidings.models import Article, Document, ParsedArticle
from tidings.safety import safe_url

SECONDS_PER_INPUT = 5.0  # generous for a 2-core machine shared by others; real cost is ms
PEAK_BYTES = 64 * 1024 * 1024  # traced Python memory while parsing one small input

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW_FUZZ = settings(FUZZ, max_examples=15)  # page and capture extraction cost more

# -- building blocks -----------------------------------------------------------------------

NASTY = [
    "\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f", "\ud800", "\udfff",
    "\ufffe", "\uffff", "\u202e", "\u200b", "\ufeff", "\t", "\r", "\n", "\r\n", "&#1;",
    "&#0;", "&#xD800;", "&amp;", "&lt;", "<", ">", "]]>", '"', "'", "\\", "{", "[", "%s",
    "𝕏", "é", "ﷺ", " ", "\u00a0",
]  # fmt: skip
URLS = [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:x",
    "data:text/html,<script>alert(1)</script>", "data:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)", "file:///etc/passwd", "//evil.example/x", "https://", "http://[::1",
    "https://e.example:99999/", "http://e.example/\x00", "https://e.example/a b",
    "https://e.example/ok", "http://e.example/ok?x=1#f", "/relative/path", "", "#", "mailto:a@b",
]  # fmt: skip

hostile_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=8).map(
    "".join
)
hostile_url = st.one_of(st.sampled_from(URLS), hostile_text)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
    hostile_url,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)


def _field(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field as the format means it, or (one time in three or so) any JSON value at all."""
    return st.one_of(strategy, strategy, json_values)


def _json(value: Any, ascii_only: bool) -> bytes:
    """JSON bytes; non-ASCII output keeps lone surrogates as (invalid) UTF-8 on purpose."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _cut(data: bytes, cut: int | None) -> bytes:
    return data if cut is None else data[: max(1, len(data) * cut // 100)]


def _xml_text(text: str, raw: bool) -> str:
    """Text for an XML document: escaped, or raw (so stray ``<`` and ``&`` break it)."""
    return text if raw else escape(text)


@st.composite
def deep(draw: st.DrawFn) -> str:
    """JSON nested past Python's parser (kept small: a few thousand bytes)."""
    depth = draw(st.integers(min_value=900, max_value=3000))
    return "[" * depth + "]" * depth


# -- documents per kind --------------------------------------------------------------------


@st.composite
def json_lines(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        choice = draw(st.integers(min_value=0, max_value=9))
        if choice == 0:
            lines.append(draw(deep()).encode())
        elif choice == 1:
            lines.append(draw(hostile_text).encode("utf-8", "surrogatepass"))
        else:
            article = {
                "title": draw(_field(hostile_text)),
                "text": draw(_field(st.one_of(hostile_text, st.lists(hostile_text, max_size=3)))),
                "url": draw(_field(hostile_url)),
                "image": draw(
                    _field(
                        st.one_of(
                            hostile_url,
                            st.fixed_dictionaries(
                                {"url": hostile_url, "caption": hostile_text, "credit": scalars}
                            ),
                        )
                    )
                ),
                "published": draw(_field(hostile_text)),
                "categories": draw(_field(st.lists(hostile_text, max_size=3))),
                "key_points": draw(_field(st.lists(hostile_text, max_size=3))),
                "author": draw(_field(hostile_text)),
                "id": draw(_field(st.integers(min_value=-(10**30), max_value=10**30))),
                "source": draw(_field(hostile_text)),
                "language": draw(_field(hostile_text)),
            }
            keys = draw(st.sets(st.sampled_from(sorted(article)))) | {"title"}
            lines.append(_json({k: article[k] for k in keys}, draw(st.booleans())))
    return b"\n".join(lines) + b"\n"


@st.composite
def json_feeds(draw: st.DrawFn) -> bytes:
    def item() -> Any:
        fields = {
            "id": _field(hostile_text),
            "url": _field(hostile_url),
            "external_url": _field(hostile_url),
            "title": _field(hostile_text),
            "content_html": _field(html_fragments()),
            "content_text": _field(hostile_text),
            "summary": _field(hostile_text),
            "image": _field(hostile_url),
            "banner_image": _field(hostile_url),
            "date_published": _field(hostile_text),
            "tags": _field(st.lists(hostile_text, max_size=3)),
            "language": _field(hostile_text),
            "authors": _field(st.lists(st.fixed_dictionaries({"name": scalars}), max_size=2)),
            "attachments": _field(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "url": hostile_url,
                            "mime_type": st.sampled_from(["audio/mpeg", "video/mp4", "x"]),
                            "duration_in_seconds": scalars,
                            "title": hostile_text,
                        }
                    ),
                    max_size=2,
                )
            ),
        }
        keys = draw(st.sets(st.sampled_from(sorted(fields)), min_size=1))
        return {k: draw(fields[k]) for k in keys}

    items: Any = [item() for _ in range(draw(st.integers(min_value=0, max_value=4)))]
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        items = draw(json_values)
    feed = {
        "version": draw(
            st.sampled_from(
                ["https://jsonfeed.org/version/1.1", "https://jsonfeed.org/version/1", "x"]
            )
        ),
        "title": draw(_field(hostile_text)),
        "home_page_url": draw(_field(hostile_url)),
        "feed_url": draw(_field(hostile_url)),
        "items": items,
    }
    data = _json(feed, draw(st.booleans()))
    if draw(st.booleans()):
        data = data.replace(b"/", b"\\/")  # as PHP writes it
    return _cut(data, draw(st.none() | st.integers(min_value=1, max_value=99)))


@st.composite
def html_fragments(draw: st.DrawFn) -> str:
    """Markup with hostile text, nesting a few dozen deep and tags left open."""
    parts = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        tag = draw(st.sampled_from(["p", "div", "b", "a", "img", "script", "table", "svg", "x:y"]))
        attribute = f" src={quoteattr(draw(hostile_url))} href={quoteattr(draw(hostile_url))}"
        depth = draw(st.integers(min_value=0, max_value=40))
        close = draw(st.booleans())
        parts.append(
            f"<{tag}{attribute}>" * (depth + 1)
            + _xml_text(draw(hostile_text), draw(st.booleans()))
            + (f"</{tag}>" * (depth + 1) if close else "")
        )
    return "".join(parts)


@st.composite
def rss_feeds(draw: st.DrawFn) -> bytes:
    raw = draw(st.booleans())

    def text() -> str:
        return _xml_text(draw(hostile_text), raw)

    entries = []
    atom = draw(st.booleans())
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        body = draw(html_fragments())
        body = f"<![CDATA[{body}]]>" if draw(st.booleans()) else escape(body)
        url = _xml_text(draw(hostile_url), raw)
        if atom:
            entries.append(
                f"<entry><title>{text()}</title><link href={quoteattr(draw(hostile_url))}/>"
                f"<id>{text()}</id><updated>{text()}</updated><content type='html'>{body}"
                f"</content><category term={quoteattr(draw(hostile_text))}/>"
                f"<author><name>{text()}</name></author></entry>"
            )
        else:
            entries.append(
                f"<item><title>{text()}</title><link>{url}</link><guid>{text()}</guid>"
                f"<pubDate>{text()}</pubDate><description>{body}</description>"
                f"<category>{text()}</category><enclosure url={quoteattr(draw(hostile_url))} "
                f"type='audio/mpeg' length='{draw(st.integers())}'/>"
                f"<media:content url={quoteattr(draw(hostile_url))} medium='image'/></item>"
            )
    if atom:
        doc = (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>{text()}</title>{''.join(entries)}</feed>"
        )
    else:
        doc = (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
            "xmlns:media='http://search.yahoo.com/mrss/'><channel>"
            f"<title>{text()}</title><link>{text()}</link>{''.join(entries)}</channel></rss>"
        )
    data = doc.encode("utf-8", "surrogatepass")
    return _cut(data, draw(st.none() | st.integers(min_value=1, max_value=99)))


@st.composite
def mind_rows(draw: st.DrawFn) -> bytes:
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        columns = [
            draw(st.sampled_from(["N1", "N22", "X3f", "", "1N"]) | hostile_text),
            draw(st.sampled_from(["news", "sports", ""]) | hostile_text),
            draw(st.sampled_from(["newsworld", ""]) | hostile_text),
            draw(hostile_text),
            draw(hostile_text),
            draw(hostile_url),
            draw(st.sampled_from(["[]", "[{", '[{"Label": 1}]']) | hostile_text),
            draw(st.sampled_from(["[]"]) | hostile_text),
        ][: draw(st.integers(min_value=4, max_value=9))]
        rows.append("\t".join(c.replace("\n", " ") for c in columns))
    return "\n".join(rows).encode("utf-8", "surrogatepass")


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    prose = "The council met on Monday and agreed the new budget for the city's schools. "
    body = "".join(
        f"<p>{prose * draw(st.integers(min_value=0, max_value=4))}{draw(html_fragments())}</p>"
        for _ in range(draw(st.integers(min_value=1, max_value=4)))
    )
    head = (
        f"<title>{_xml_text(draw(hostile_text), draw(st.booleans()))}</title>"
        f"<meta property='og:image' content={quoteattr(draw(hostile_url))}>"
        f"<meta property='og:url' content={quoteattr(draw(hostile_url))}>"
        f"<meta name='author' content={quoteattr(draw(hostile_text))}>"
        f"<meta property='article:tag' content={quoteattr(draw(hostile_text))}>"
    )
    doc = f"<!doctype html><html><head>{head}</head><body><article>{body}</article></body></html>"
    data = doc.encode("utf-8", "surrogatepass")
    return _cut(data, draw(st.none() | st.integers(min_value=1, max_value=99)))


@st.composite
def captures(draw: st.DrawFn) -> bytes:
    prose = "Owners of cafés across the city said on Monday that the rules would hurt them."
    lines = draw(
        st.lists(
            st.one_of(
                hostile_text, hostile_url, st.just(prose), st.just(""), st.just("Video 1:23")
            ),
            min_size=1,
            max_size=12,
        )
    )
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@st.composite
def opml_lists(draw: st.DrawFn) -> bytes:
    def outlines(depth: int) -> str:
        found = []
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            inner = outlines(depth + 1) if depth < 3 and draw(st.booleans()) else ""
            found.append(
                f"<outline text={quoteattr(draw(hostile_text))} "
                f"xmlUrl={quoteattr(draw(hostile_url))} htmlUrl={quoteattr(draw(hostile_url))}>"
                f"{inner}</outline>"
            )
        return "".join(found)

    doc = f"<?xml version='1.0'?><opml version='2.0'><body>{outlines(0)}</body></opml>"
    data = doc.encode("utf-8", "surrogatepass")
    return _cut(data, draw(st.none() | st.integers(min_value=1, max_value=99)))


# -- checks --------------------------------------------------------------------------------


def _bad(text: str) -> bool:
    """Whether ``text`` holds a character the door must keep out."""
    return any(
        (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF
        for c in text
    )


def _check_parsed(article: ParsedArticle) -> None:
    image = article.image
    texts = [
        article.title,
        *article.key_points,
        *article.paragraphs,
        *article.labels,
        article.byline or "",
        article.source or "",
        article.language or "",
        article.external_id or "",
        article.raw,
        (image.caption or "") if image else "",
        (image.credit or "") if image else "",
        *(m.title or "" for m in article.media),
    ]
    assert not any(_bad(t) for t in texts), texts
    urls = [article.url, image.url if image else None, *(m.url for m in article.media)]
    assert all(u is None or safe_url(u) == u for u in urls), urls


def _check_stored(article: Article) -> None:
    image = article.image
    texts = [
        article.title,
        *article.key_points,
        *article.paragraphs,
        *(t.name for t in article.topics),
        article.byline or "",
        article.source or "",
        (image.caption or "") if image else "",
        (image.credit or "") if image else "",
    ]
    assert not any(_bad(t) for t in texts), texts
    urls = [article.url, image.url if image else None, *(m.url for m in article.media)]
    assert all(u is None or safe_url(u) == u for u in urls), urls


def _within_budget(run: Callable[[], Any]) -> Any:
    """``run()``, failing the test if it takes too long or too much memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        return run()
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert elapsed < SECONDS_PER_INPUT, f"took {elapsed:.1f} s"
        assert peak < PEAK_BYTES, f"peaked at {peak / 1e6:.0f} MB"


def _parse(data: bytes, kind: str | None) -> None:
    doc = Document(name="fuzz", data=data, url="https://fuzz.example/feed")

    def run() -> None:
        try:
            _, parsed = pipeline.parse(doc, kind)
        except TidingsError as exc:  # expected, unless it is a parser bug the door caught
            assert not str(exc).startswith("could not be read ("), str(exc)
            return
        for article in parsed.articles:
            _check_parsed(article)
        assert parsed.title is None or not _bad(parsed.title)
        assert not any(_bad(w) for w in parsed.warnings)

    _within_budget(run)


@pytest.fixture(scope="module", autouse=True)
def _parsers_loaded() -> None:
    """Each reader's first call loads its libraries (trafilatura, lxml, …): seconds on a busy
    machine, and the time budget is for an input, not for that."""
    page = b"<html><head><title>Warm</title></head><body><p>Up we go.</p></body></html>"
    for kind, data in (("page", page), ("capture", b"Warm\n\nUp we go."), ("feed", page)):
        with contextlib.suppress(TidingsError):
            pipeline.parse(Document(name="warm", data=data, url="https://fuzz.example/"), kind)


# -- the fuzzers ---------------------------------------------------------------------------


@FUZZ
@given(json_lines())
def test_json_lines_never_crash_or_store_unsafe_text(data: bytes) -> None:
    _parse(data, "jsonl")
    _parse(data, None)


@FUZZ
@given(json_feeds())
def test_json_feeds_never_crash_or_store_unsafe_text(data: bytes) -> None:
    _parse(data, "jsonfeed")
    _parse(data, None)


@FUZZ
@given(rss_feeds())
def test_rss_and_atom_feeds_never_crash_or_store_unsafe_text(data: bytes) -> None:
    _parse(data, "feed")


@FUZZ
@given(mind_rows())
def test_mind_rows_never_crash_or_store_unsafe_text(data: bytes) -> None:
    _parse(data, "mind")
    _parse(data, None)


@SLOW_FUZZ
@given(pages())
def test_pages_never_crash_or_store_unsafe_text(data: bytes) -> None:
    _parse(data, "page")


@SLOW_FUZZ
@given(captures())
def test_captures_never_crash_or_store_unsafe_text(data: bytes) -> None:
    _parse(data, "capture")


@FUZZ
@given(opml_lists())
def test_opml_lists_never_crash_or_keep_unsafe_feeds(data: bytes) -> None:
    def run() -> None:
        warnings: list[str] = []
        try:
            outlines = opml.read(data, warnings)
        except TidingsError:
            return
        for outline in outlines:
            assert safe_url(outline.url) == outline.url
            assert outline.site_url is None or safe_url(outline.site_url) == outline.site_url
            assert outline.title is None or not _bad(outline.title)
        assert not any(_bad(w) for w in warnings)

    _within_budget(run)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tidings]:
    """One SQLite store for every stored example (they only add articles)."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with Tidings(f"sqlite:///{folder / 'fuzz.db'}") as tidings:
        yield tidings


@settings(FUZZ, max_examples=25)
@given(st.one_of(json_lines(), json_feeds(), rss_feeds(), mind_rows()))
def test_whatever_is_stored_from_hostile_input_is_clean(store: Tidings, data: bytes) -> None:
    result = store.ingest_document(Document(name="fuzz", data=data))
    assert result.status in ("ok", "error")
    if result.error:
        assert "could not be stored" not in result.error, result.error
        assert "could not be read (" not in result.error, result.error
    for article_id in result.articles:
        _check_stored(store.article(article_id))
        assert not _bad(store.raw_payload(article_id))
