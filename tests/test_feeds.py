"""Feed parsing: RSS, Atom and JSON Feed into articles, on real feeds and feedparser's suite."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tidings.errors import ParseError
from tidings.ingest import feed, jsonfeed
from tidings.ingest.html_text import first_image, html_to_paragraphs, html_to_text, image_caption
from tidings.models import Document, Parsed

FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "feeds"


def _manifest() -> list[tuple[str, int]]:
    # Read at collection time for parametrisation; the `shared` fixture asserts the folder.
    path = FEEDS / "manifest.json"
    if not path.is_file():
        return []
    return sorted((name, meta["entries"]) for name, meta in json.loads(path.read_text()).items())


def _load(shared: Path, name: str, url: str | None = None) -> Document:
    path = shared / "data" / "feeds" / name
    return Document(name=str(path), data=path.read_bytes(), url=url)


def _doc(xml: str, url: str | None = None) -> Document:
    return Document(name="inline", data=xml.encode(), url=url)


@pytest.fixture(scope="module")
def guardian(shared: Path) -> Parsed:
    return feed.parse(_load(shared, "guardian.rss"))


# --- every sample feed --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "entries"), _manifest())
def test_every_sample_feed_gives_one_article_per_entry(
    shared: Path, name: str, entries: int
) -> None:
    doc = _load(shared, name)
    if entries == 0:
        # The manifest's empty "feed" is a web page: refusing it or finding nothing are both fine.
        try:
            parsed = feed.parse(doc)
        except ParseError:
            return
        assert parsed.articles == []
        return
    parsed = feed.parse(doc)
    assert len(parsed.articles) == entries
    for article in parsed.articles:
        assert article.title.strip()
        assert article.url is None or article.url.startswith(("http://", "https://"))
        json.loads(article.raw)  # always a JSON document


def test_a_web_page_is_refused_as_not_a_feed(shared: Path) -> None:
    with pytest.raises(ParseError, match="not a feed: it is an HTML page"):
        feed.parse(_load(shared, "unrecognized.rss"))


@pytest.mark.parametrize(
    "data", [b"", b"just some words", b"<?xml version='1.0'?><note>hi</note>", b"\x00\xff\xfe"]
)
def test_bytes_that_are_no_feed_raise_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        feed.parse(Document(name="x", data=data))


def test_bytes_naming_a_local_file_are_not_read_as_that_file(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_text(
        '<rss version="2.0"><channel><item><title>secret</title></item></channel></rss>'
    )
    with pytest.raises(ParseError):
        feed.parse(Document(name="x", data=str(secret).encode()))


def test_an_empty_but_valid_feed_gives_no_articles_and_a_warning() -> None:
    parsed = feed.parse(_doc('<rss version="2.0"><channel><title>Quiet</title></channel></rss>'))
    assert parsed.articles == []
    assert parsed.title == "Quiet"
    assert any("no entries" in w for w in parsed.warnings)


def test_a_truncated_feed_keeps_its_readable_entries_and_warns(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "InvalidDateFormat.xml"))  # ends before </rss>
    assert [a.title for a in parsed.articles] == [
        "Item 0 with an invalid date",
        "Item 1 with all valid dates",
    ]
    assert any("not well-formed" in w for w in parsed.warnings)
    assert parsed.articles[0].published == datetime(2017, 10, 16, 15, 10, tzinfo=UTC)


def test_a_newline_before_the_xml_declaration_is_no_reason_to_warn(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "TechCrunch.xml"))
    assert parsed.warnings == []


def test_an_entry_that_fails_is_skipped_and_named_while_the_rest_go_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = feed._labels

    def fussy(tags: list) -> list[str]:
        if any(t.get("term") == "boom" for t in tags):
            raise ValueError("cannot read this category")
        return real(tags)

    monkeypatch.setattr(feed, "_labels", fussy)
    xml = """<rss version="2.0"><channel><title>T</title>
      <item><title>Fine one</title><link>http://e.com/1</link></item>
      <item><title>Bad one</title><category>boom</category></item>
      <item><title>Fine two</title><link>http://e.com/2</link></item>
    </channel></rss>"""
    parsed = feed.parse(_doc(xml))
    assert [a.title for a in parsed.articles] == ["Fine one", "Fine two"]
    assert len(parsed.warnings) == 1
    assert "entry 2 ('Bad one')" in parsed.warnings[0]
    assert "cannot read this category" in parsed.warnings[0]


# --- real feeds, looked at closely -------------------------------------------------------


def test_guardian_articles_have_titles_links_labels_and_photos(guardian: Parsed) -> None:
    assert guardian.title == "The Guardian"
    first = guardian.articles[0]
    assert first.title == "Trump State of the Union address promised unity but emphasized discord"
    assert first.url == (
        "https://www.theguardian.com/us-news/2018/jan/31/"
        "donald-trump-state-of-the-union-address-unity-discord"
    )
    assert first.external_id == first.url
    assert first.labels[:3] == ["Donald Trump", "State of the Union address", "US news"]
    assert first.byline == "David Smith in Washington"
    assert first.published == datetime(2018, 1, 31, 7, 26, 5, tzinfo=UTC)
    assert first.language == "en-gb"
    assert first.source == "The Guardian"
    # Of the 140 px and 460 px renditions, the larger one leads.
    assert first.image is not None
    assert first.image.url is not None and "w=460" in first.image.url
    assert first.image.credit == "Photograph: Networ/Sipa USA/REX/Shutterstock"
    assert all(
        a.url and a.url.startswith("https://www.theguardian.com/") for a in guardian.articles
    )


def test_guardian_text_has_no_continue_reading_or_related_links(guardian: Parsed) -> None:
    first = guardian.articles[0]
    assert first.paragraphs[0].startswith("The president’s ‘new American moment’ speech")
    text = " ".join(p for a in guardian.articles for p in a.paragraphs)
    assert "Continue reading" not in text
    assert "Related:" not in text


def test_guardian_entry_is_kept_raw_as_json_with_iso_dates(guardian: Parsed) -> None:
    raw = json.loads(guardian.articles[0].raw)
    assert raw["published_parsed"] == "2018-01-31T07:26:05+00:00"
    assert raw["title"].startswith("Trump State of the Union")


def test_content_encoded_gives_the_full_article_text(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "content-encoded.rss"))
    first = parsed.articles[0]
    assert first.title == "THE CREATIVE FORAGER"
    assert first.paragraphs[:2] == [
        "Using Wild Ingredients in the Kitchen",
        "HEY, YOU! YES, YOU WITH THE EYEBALLS! GO OUTSIDE AND EAT SOME WILD FOODS!",
    ]
    assert len(first.paragraphs) > 10
    assert first.labels == ["plants", "environment", "nature", "foraging", "food"]
    assert first.byline == "Jeremy Puma"
    assert first.image is not None
    assert (
        first.image.url == "https://cdn-images-1.medium.com/max/938/1*C_nVpehD-NKBgtVEULabmQ.jpeg"
    )


def test_json_feed_items_become_articles(shared: Path) -> None:
    parsed = jsonfeed.parse(_load(shared, "json_feed.json"))
    assert parsed.title == "inessential.com"
    assert len(parsed.articles) == 20
    first = parsed.articles[0]
    assert first.title == "James Dempsey and the Breakpoints Benefit App Camp for Girls"
    assert first.url == "http://inessential.com/2017/06/02/james_dempsey_and_the_breakpoints_benefi"
    assert first.byline == "Brent Simmons"  # from the feed, as the item names nobody
    assert first.published == datetime(2017, 6, 3, 5, 5, 47, tzinfo=UTC)
    assert first.language == "en-US"
    assert first.paragraphs[1] == "You should get tickets. It’s a fun time for a great cause."


def test_feed_parse_hands_json_feeds_to_the_json_parser(shared: Path) -> None:
    assert len(feed.parse(_load(shared, "json_feed.json")).articles) == 20


def test_atom_xhtml_content_becomes_paragraphs(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "TypePadNews.xml"))
    first = parsed.articles[0]
    assert first.title == "Spotlight: Friday Favorites!"
    assert first.paragraphs[0].startswith("Each week, we scout for great blogs")
    assert "Susan Weinroth is celebrating the weekend with Friday Phone Favorites:" in (
        first.paragraphs
    )
    assert first.labels == ["Blogging Community"]
    assert first.language == "en-US"
    # The summary is the body's opening cut short: not repeated as a key point.
    assert first.key_points == []


def test_escaped_markup_in_atom_xhtml_stays_visible_text(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "AtomEscapedHTMLInPreTag.xml"))
    assert parsed.articles[0].paragraphs == ["This is escaped html:", "<b>test<b>"]


def test_a_distinct_short_summary_becomes_the_key_point(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "DuplicateContentAtomFeed.xml"))
    first = parsed.articles[0]
    assert first.key_points == [
        "Two switches in two cities seemingly failed because of a transient on the power grid."
    ]
    assert first.paragraphs[0].startswith("You might have noticed")


def test_podcast_enclosure_is_audio_with_its_itunes_duration(shared: Path) -> None:
    article = feed.parse(_load(shared, "narro.rss")).articles[0]
    assert len(article.media) == 1
    audio = article.media[0]
    assert audio.kind == "audio"
    assert audio.duration_seconds == 74
    assert audio.url is not None and audio.url.endswith(".mp3")
    assert audio.title == "FAQ for Narro"
    assert article.image is not None
    assert article.image.url == "http://example.com/someImage.jpg"  # itunes:image
    assert article.byline is None  # a bare e-mail address is no byline


def test_rss_092_enclosure_is_audio(shared: Path) -> None:
    article = feed.parse(_load(shared, "heraldsun.rss")).articles[0]
    assert [(m.kind, m.url) for m in article.media] == [("audio", "http://www.oreilly.com/001.mp3")]


def test_youtube_videos_get_their_thumbnail_as_image(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "youtube_atom.xml"))
    first = parsed.articles[0]
    assert first.image is not None
    assert first.image.url == "https://i2.ytimg.com/vi/5shykyfmb28/hqdefault.jpg"
    assert first.media[0].kind == "video"
    assert first.external_id == "yt:video:5shykyfmb28"
    assert all(a.image and a.image.url for a in parsed.articles)


def test_reddit_submitted_by_line_is_dropped_but_self_posts_keep_text(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "reddit.rss"))
    text = [p for a in parsed.articles for p in a.paragraphs]
    assert not any(p.startswith("submitted by") for p in text)
    assert "It's Aziz Ansari." in text
    assert parsed.articles[0].image is not None


def test_feedburner_share_links_and_ads_are_not_article_text_or_image(shared: Path) -> None:
    parsed = feed.parse(_load(shared, "TechCrunch.xml"))
    first = parsed.articles[0]
    assert first.labels == ["TC", "angie's list"]
    assert first.image is not None and first.image.url is not None
    assert "feedburner" not in first.image.url
    assert not any("feedburner" in p or "doubleclick" in p for p in first.paragraphs)


def test_html_in_titles_is_stripped(shared: Path) -> None:
    first = feed.parse(_load(shared, "google_alerts_atom.xml")).articles[0]
    assert first.title.startswith("Report offers Prediction of Automotive Slack Market")
    assert first.byline is None  # the alert's author is blank


def test_entries_without_title_or_link_still_come_through(shared: Path) -> None:
    article = feed.parse(_load(shared, "missing-fields.atom")).articles[0]
    assert article.title == "(untitled)"
    assert article.external_id == "tag:github.com,2008:Repository/11167738/v3.9.0"
    assert article.url is None


def test_untitled_entry_is_named_by_its_first_words() -> None:
    words = "One two three four five six seven eight nine ten eleven twelve thirteen"
    item = f"<item><description>{words}</description></item>"
    xml = f"<rss version='2.0'><channel>{item}</channel></rss>"
    article = feed.parse(_doc(xml)).articles[0]
    assert article.title == "One two three four five six seven eight nine ten eleven twelve…"


# --- links and pictures relative to where the feed came from ------------------------------


def test_relative_links_resolve_against_the_feed_address() -> None:
    xml = """<rss version="2.0"><channel><title>T</title><link>https://site.example/</link>
      <item><title>A</title><link>/news/a.html</link>
        <description>&lt;p&gt;Hi&lt;/p&gt;&lt;img src="../img/a.jpg"&gt;</description></item>
      <item><title>B</title><link>https://elsewhere.example/b</link></item>
    </channel></rss>"""
    parsed = feed.parse(_doc(xml, url="https://cdn.example/feeds/rss.xml"))
    a, b = parsed.articles
    assert a.url == "https://cdn.example/news/a.html"
    assert a.image is not None and a.image.url == "https://cdn.example/img/a.jpg"
    assert b.url == "https://elsewhere.example/b"


def test_relative_links_fall_back_to_the_site_link_without_a_feed_address() -> None:
    xml = """<rss version="2.0"><channel><title>T</title><link>https://site.example/blog/</link>
      <item><title>A</title><link>posts/a</link></item></channel></rss>"""
    assert feed.parse(_doc(xml)).articles[0].url == "https://site.example/blog/posts/a"


def test_atom_xml_base_resolves_entry_links_and_images() -> None:
    xml = """<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://b.example/x/">
      <title>T</title>
      <entry><title>A</title><id>urn:a</id><link href="a.html"/>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
          <p>Text</p><img src="pic.png"/></div></content></entry></feed>"""
    article = feed.parse(_doc(xml)).articles[0]
    assert article.url == "https://b.example/x/a.html"
    assert article.image is not None and article.image.url == "https://b.example/x/pic.png"
    assert article.external_id == "urn:a"


def test_categories_are_cleaned_deduplicated_and_urls_left_out() -> None:
    xml = """<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
      <entry><title>A</title><id>a</id>
        <category scheme="http://schemas.google.com/g/2005#kind"
                  term="http://schemas.google.com/blogger/2008/kind#post"/>
        <category term="north-korea" label="North Korea"/>
        <category term="  Politics  "/>
        <category term="politics"/>
      </entry></feed>"""
    assert feed.parse(_doc(xml)).articles[0].labels == ["North Korea", "Politics"]


def test_media_rss_video_and_durations() -> None:
    xml = """<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
               xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>T</title>
      <item><title>Clip</title><link>https://e.example/clip</link>
        <media:content url="https://e.example/clip.mp4" type="video/mp4" duration="95"/>
        <media:content url="https://e.example/still.jpg" medium="image"/>
      </item>
      <item><title>Episode</title><link>https://e.example/ep</link>
        <enclosure url="https://e.example/ep.mp3" length="1000" type="audio/mpeg"/>
        <itunes:duration>1:02:03</itunes:duration>
      </item></channel></rss>"""
    clip, episode = feed.parse(_doc(xml)).articles
    assert [(m.kind, m.duration_seconds) for m in clip.media] == [("video", 95)]
    assert clip.image is not None and clip.image.url == "https://e.example/still.jpg"
    assert [(m.kind, m.duration_seconds, m.title) for m in episode.media] == [
        ("audio", 3723, "Episode")
    ]


# --- HTML to text -------------------------------------------------------------------------


def test_scripts_styles_iframes_and_forms_leave_no_text() -> None:
    html = (
        "<p>Kept</p><script>alert('x')</script><style>p { color: red }</style>"
        "<iframe src='https://ads.example'>frame text</iframe>"
        "<form><input value='q'><button>Go</button></form><nav>Home | About</nav>"
        "<noscript>enable js</noscript><p>Also kept</p>"
    )
    assert html_to_paragraphs(html) == ["Kept", "Also kept"]


def test_block_elements_and_double_line_breaks_split_paragraphs() -> None:
    html = (
        "<h2>Heading</h2><p>First <b>bold</b> and <a href='/x'>linked</a>.</p>"
        "<ul><li>one</li><li>two</li></ul><blockquote>Quote</blockquote>"
        "Line one<br>still line one<br/><br/>Line two"
        "<figure><img src='a.jpg'><figcaption>The caption</figcaption></figure>"
    )
    assert html_to_paragraphs(html) == [
        "Heading",
        "First bold and linked.",
        "one",
        "two",
        "Quote",
        "Line one still line one",
        "Line two",
        "The caption",
    ]


def test_entities_are_decoded_and_whitespace_collapsed() -> None:
    html = "<p>Tom &amp; Jerry&nbsp;&mdash; &#8220;caf&eacute;&#8221;\n\n   and   more</p>"
    assert html_to_paragraphs(html) == ["Tom & Jerry — “café” and more"]


def test_blank_lines_split_paragraphs_when_the_html_has_no_blocks() -> None:
    html = "First <a href='x'>para</a>.\n\nSecond <em>para</em>."
    assert html_to_paragraphs(html) == ["First para.", "Second para."]


def test_plain_text_passed_as_html_is_split_at_blank_lines() -> None:
    assert html_to_paragraphs("One &amp; two\n\nThree") == ["One & two", "Three"]
    assert html_to_paragraphs("") == []
    assert html_to_paragraphs("   \n ") == []


def test_feed_furniture_is_removed() -> None:
    html = (
        "<p>The real text. Continue reading →</p>"
        "<p>A truncated excerpt […]</p>"
        "<p>Keep this, you can read more.</p>"
        "<p>The band first appeared on television in 1964.</p>"
        "<p>The post <a href='x'>Title</a> appeared first on <a href='y'>Blog</a>.</p>"
        "<p><a href='z'>Read more</a></p>"
        "<div class='feedflare'><a href='f'>Share on Facebook</a></div>"
        "<img src='http://feeds.feedburner.com/~r/Blog/~4/abc' height='1' width='1'/>"
    )
    assert html_to_paragraphs(html) == [
        "The real text.",
        "A truncated excerpt…",
        "Keep this, you can read more.",
        "The band first appeared on television in 1964.",
    ]


def test_broken_markup_is_read_like_a_browser_would() -> None:
    html = "<p>Unclosed <b>bold<p>Next<div>Inner</span></div>"
    assert html_to_paragraphs(html) == ["Unclosed bold", "Next", "Inner"]


def test_deeply_nested_html_does_not_overflow() -> None:
    html = "<div>" * 5000 + "deep" + "</div>" * 5000
    assert html_to_paragraphs(html) == ["deep"]


def test_first_image_is_resolved_and_skips_pixels() -> None:
    html = (
        "<img src='http://feeds.feedburner.com/~r/x/~4/y' width='1' height='1'>"
        "<img src='data:image/gif;base64,R0lGOD'>"
        "<figure><img src='../pics/lead.jpg' alt='Alt text'><figcaption>Lead photo</figcaption>"
        "</figure><img src='/second.png'>"
    )
    url = first_image(html, "https://news.example/2024/story/")
    assert url == "https://news.example/2024/pics/lead.jpg"
    assert image_caption(html, url, "https://news.example/2024/story/") == "Lead photo"
    assert first_image("<p>no pictures</p>", "https://news.example/") is None
    assert first_image("<img src='relative.png'>") is None  # nothing to resolve against


def test_html_to_text_flattens_a_title() -> None:
    assert html_to_text("Markets <b>rally</b> &amp; <i>fall</i>") == "Markets rally & fall"


# --- JSON Feed ----------------------------------------------------------------------------


def test_json_feed_11_fields_map_onto_the_article() -> None:
    payload = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Pods",
        "feed_url": "https://pods.example/feed.json",
        "language": "en",
        "authors": [{"name": "Feed Author"}],
        "items": [
            {
                "id": 7,
                "url": "/episodes/7",
                "title": "Episode 7",
                "summary": "A short standfirst.",
                "content_html": "<p>Show notes.</p><script>x()</script>",
                "date_modified": "2024-02-03T04:05:06+01:00",
                "authors": [{"name": "Host"}, {"name": "Guest"}],
                "tags": ["Science", "science", " Space "],
                "image": "/art/7.png",
                "language": "de",
                "attachments": [
                    {"url": "/7.mp3", "mime_type": "audio/mpeg", "duration_in_seconds": 1800},
                    {"url": "/7.pdf", "mime_type": "application/pdf"},
                ],
            },
            "not an item",
        ],
    }
    doc = Document(name="j", data=json.dumps(payload).encode())
    assert jsonfeed.looks_like_jsonfeed(doc.data)
    parsed = jsonfeed.parse(doc)
    (article,) = parsed.articles
    assert article.external_id == "7"
    assert article.url == "https://pods.example/episodes/7"
    assert article.paragraphs == ["Show notes."]
    assert article.key_points == ["A short standfirst."]
    assert article.byline == "Host, Guest"
    assert article.published == datetime(2024, 2, 3, 3, 5, 6, tzinfo=UTC)
    assert article.labels == ["Science", "Space"]
    assert article.image is not None and article.image.url == "https://pods.example/art/7.png"
    assert article.language == "de"
    assert article.source == "Pods"
    assert [(m.kind, m.duration_seconds, m.url) for m in article.media] == [
        ("audio", 1800, "https://pods.example/7.mp3")
    ]
    assert any("skipped item 2" in w for w in parsed.warnings)


def test_bad_json_names_the_line() -> None:
    with pytest.raises(ParseError, match=r"not valid JSON: .*, line 3"):
        jsonfeed.parse(Document(name="j", data=b'{\n "items": [\n oops ]}'))


@pytest.mark.parametrize("data", [b"[1, 2]", b'{"title": "no items"}', b'"text"'])
def test_json_that_is_no_feed_raises_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="not a JSON Feed"):
        jsonfeed.parse(Document(name="j", data=data))


def test_only_json_feeds_look_like_json_feeds(shared: Path) -> None:
    assert jsonfeed.looks_like_jsonfeed(_load(shared, "json_feed.json").data)
    assert not jsonfeed.looks_like_jsonfeed(_load(shared, "guardian.rss").data)
    assert not jsonfeed.looks_like_jsonfeed(b'{"items": []}')


# --- feedparser's conformance suite -------------------------------------------------------


def test_every_conformance_feed_parses_or_raises_parse_error(shared: Path) -> None:
    root = shared / "data" / "feed-conformance"
    files = sorted(p for p in root.rglob("*") if p.suffix in (".xml", ".json"))
    assert len(files) >= 2106
    offenders: list[str] = []
    outcomes = {"parsed": 0, "refused": 0}
    started = time.perf_counter()
    for path in files:
        doc = Document(name=str(path), data=path.read_bytes())
        parsers = [feed.parse, jsonfeed.parse] if path.suffix == ".json" else [feed.parse]
        for parse in parsers:
            try:
                parsed = parse(doc)
            except ParseError:
                outcomes["refused"] += 1
                continue
            except Exception as exc:  # the point of the test: nothing else may escape
                offenders.append(f"{path.relative_to(root)}: {type(exc).__name__}: {exc}")
                continue
            outcomes["parsed"] += 1
            if not isinstance(parsed, Parsed):
                offenders.append(f"{path.relative_to(root)}: returned {type(parsed).__name__}")
    elapsed = time.perf_counter() - started
    assert not offenders, f"{len(offenders)} feeds crashed the parser:\n" + "\n".join(offenders)
    assert outcomes["parsed"] > 1500, outcomes
    assert elapsed < 60, f"conformance suite took {elapsed:.1f}s"
