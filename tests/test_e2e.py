"""End to end in a real browser: headless Chromium (Debian's, driven by Playwright) against the
app served over real HTTP on 127.0.0.1, doing what a reader does and checking what they see.

The store is the seed page, the Guardian's feed (55 real articles across many topics), one
real event told by two outlets (a SemEval same-story pair), a Wikinews article and a UCI News
Aggregator headline (headline only), understood once for the module; each test signs up a
reader of its own. Screenshots of each kind of page, at a laptop's and a phone's size, go to
``test-artifacts/``.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import os
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Route,
    expect,
    sync_playwright,
)

from tidings.library import Tidings
from tidings.rank.signals import Kind
from tidings.store import events as event_store
from tidings.web import create_app

from .conftest import ROOT, SEED, understood_store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long enough password"
_names = itertools.count()
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _two_outlets(shared: Path, folder: Path) -> Path:
    """One real event (Apple and Imagination Technologies) as two outlets told it."""
    with (shared / "data/stories/semeval2022_train.csv").open(encoding="utf-8") as rows:
        pair = next(r for r in csv.DictReader(rows) if r["pair_id"] == "1484396190_1484349204")
    rows_out = [
        {"title": "Apple strikes new deal with UK chip designer it sidelined in 2017",
         "text": pair["text1"], "url": "https://a.example/apple",
         "published": "2020-01-02T09:00Z", "source": "Outlet A"},
        {"title": "Apple, former partner Imagination Technologies ink new licensing agreement",
         "text": pair["text2"], "url": "https://b.example/apple",
         "published": "2020-01-02T15:00Z", "source": "Outlet B"},
    ]  # fmt: skip
    path = folder / "two_outlets.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows_out), encoding="utf-8")
    return path


def _demo_like(shared: Path, folder: Path) -> Path:
    """What the demo is made of: a Wikinews article (its text CC BY 2.5) and a UCI News
    Aggregator headline, which has no text (its card links out to the outlet)."""
    with (shared / "data/wikinews/wikinews_2019_2021.jsonl").open(encoding="utf-8") as lines:
        wikinews = next(r for r in map(json.loads, lines) if len(r.get("text") or "") > 2000)
    wikinews["source"] = "Wikinews"  # as the demo pack names it
    with gzip.open(shared / "data/stories/uci_news_aggregator_2014-03-10.tsv.gz", "rt") as rows:
        uci = next(csv.DictReader(rows, delimiter="\t"))
    headline = {
        "id": f"uci-news-aggregator:{uci['id']}", "title": uci["title"],
        "url": uci["url"].replace("\\?", "?"), "source": uci["publisher"],
        "published": uci["timestamp"],
    }  # fmt: skip
    path = folder / "demo_like.jsonl"
    path.write_text(json.dumps(wikinews) + "\n" + json.dumps(headline) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tidings]:
    folder = tmp_path_factory.mktemp("e2e")
    inputs = [
        shared / SEED,
        shared / "data/feeds/guardian.rss",
        _two_outlets(shared, folder),
        _demo_like(shared, folder),
    ]
    with understood_store("sqlite", folder, inputs) as tidings:
        yield tidings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(store: Tidings) -> Iterator[str]:
    """The app served by uvicorn over real HTTP on 127.0.0.1, in a background thread."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(store, base_url=url)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/signin", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert thread.is_alive(), "uvicorn stopped before answering"
        assert time.monotonic() < deadline, "uvicorn did not answer within 30 s"
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} is missing: the browser tests need Debian's chromium package"
        if os.environ.get("TIDINGS_REQUIRE_BROWSER"):  # CI installs it: missing is a failure
            pytest.fail(problem)
        pytest.skip(f"{problem} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


# Every Content-Security-Policy violation a page causes, as the browser reports it.
_WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, with the app as its base URL. It may
    reach only the app: any other address (a CDN, say) is refused, as offline."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    context.add_init_script(_WATCH_CSP)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    try:
        yield context.new_page()
    finally:
        context.close()


def csp_violations(page: Page) -> list[str]:
    return page.evaluate("window.__csp || []")


def sign_up(page: Page, who: str) -> str:
    """Sign up a new reader through the form; the browser lands on onboarding."""
    name = f"{who} {next(_names)}"
    page.goto("/signup")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/onboarding")
    return name


def pick_topics(page: Page, topics: list[str]) -> None:
    """Tick topics on onboarding (each label reads "<name> <count>") and go to the feed."""
    for topic in topics:
        page.get_by_role("checkbox", name=re.compile(rf"^{re.escape(topic)} \d+$")).check()
    page.get_by_role("button", name="Show my feed").click()
    page.wait_for_url(re.compile(r"/$"))


def cards(page: Page) -> Locator:
    return page.locator("ol.cards > li.card[data-story]")


def story_ids(page: Page) -> list[str]:
    return [c.get_attribute("data-story") or "" for c in cards(page).all()]


def chip_topics(card: Locator) -> list[str]:
    """A card's topics, by name: each chip's title is "Follow <name>", or "You follow
    <name>: select to stop following" once the reader follows it."""
    titles = [b.get_attribute("title") or "" for b in card.locator("button.chip").all()]
    return [
        t.removeprefix("Follow ")
        .removeprefix("You follow ")
        .removesuffix(": select to stop following")
        for t in titles
    ]


def artifacts() -> Path:
    folder = Path(os.environ.get("TIDINGS_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_newcomer_picks_topics_and_every_card_says_why_it_is_there(
    page: Page,
) -> None:
    sign_up(page, "newcomer")
    expect(page.get_by_role("heading", level=1)).to_have_text("What would you like to follow?")
    picked = ["Sport", "Environment"]
    pick_topics(page, picked)

    expect(page.get_by_role("heading", level=1)).to_have_text("For you")
    assert cards(page).count() >= 10
    reasons = [c.locator("p.reason").inner_text().strip() for c in cards(page).all()]
    assert all(reasons), f"a card without a reason: {reasons}"
    assert {f"You follow {t}" for t in picked} & set(reasons), reasons
    # The followed topics lead the feed.
    assert reasons[0] in {f"You follow {t}" for t in picked}, reasons

    shot = artifacts() / "feed.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hiding_a_story_takes_it_out_of_the_feed_and_lists_it_under_hidden_and_why(
    page: Page, store: Tidings
) -> None:
    reader = sign_up(page, "hider")
    page.goto("/")
    before = story_ids(page)
    assert len(before) >= 3
    # A story from one outlet below the top one, so its card and /hidden show one headline.
    card = cards(page).filter(has_not=page.locator("p.meta a")).nth(1)
    target = card.get_attribute("data-story") or ""
    assert target in before[1:]
    headline = card.locator("h2 a").inner_text().strip()

    with page.expect_navigation():
        card.get_by_role("button", name="Hide", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("For you")
    expect(page.locator(f"li.card[data-story='{target}']")).to_have_count(0)
    expect(page.get_by_role("link", name=headline, exact=True)).to_have_count(0)
    expect(cards(page)).to_have_count(len(before))  # the feed is still full

    page.get_by_role("link", name="Hidden and why").click()
    page.wait_for_url("**/hidden")
    group = page.locator("section.hidden-group[data-reason='hidden']")
    expect(group).to_have_count(1)
    expect(group.get_by_role("heading", level=2)).to_have_text("You hid this story — 1 story")
    expect(group.locator(f"a[href='/stories/{target}']")).to_have_text(headline)

    undo = group.get_by_role("button")
    expect(undo).to_have_count(1)  # one undo, at the group's head
    expect(undo).to_have_text("Show again")
    with page.expect_navigation():
        undo.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hidden and why")
    expect(page.get_by_role("status")).to_have_text("1 story is back in your feed.")
    expect(page.locator(f"section.hidden-group a[href='/stories/{target}']")).to_have_count(0)
    # Back in the feed. It was already shown once, so it now ranks low; the "More stories"
    # pages cannot be walked to find it (their offsets shift as each page view re-ranks), so
    # ask the store for the whole feed.
    everything = store.feed(reader, limit=500, record=False)
    assert int(target) in [item.story_id for item in everything.items]


def test_following_a_topic_from_a_chip_lifts_its_stories(page: Page) -> None:
    sign_up(page, "follower")
    page.goto("/")
    all_cards = cards(page).all()
    assert len(all_cards) >= 10
    topics_by_card = [chip_topics(c) for c in all_cards]

    def first_about(topic: str, by_card: list[list[str]]) -> int:
        return next(i for i, names in enumerate(by_card) if topic in names)

    # A topic whose first story sits well down the feed, offered on a lower card.
    chosen = next(
        (i, topic)
        for i in range(len(all_cards) - 1, 4, -1)
        for topic in topics_by_card[i]
        if first_about(topic, topics_by_card) >= 5
    )
    position, topic = chosen
    before = [i for i, names in enumerate(topics_by_card) if topic in names]

    with page.expect_navigation():
        all_cards[position].get_by_role("button", name=f"+ {topic}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("For you")
    after_cards = cards(page).all()
    after = [i for i, c in enumerate(after_cards) if topic in chip_topics(c)]
    assert after, f"no story about {topic} after following it"
    assert after[0] < before[0], (topic, before, after)
    assert after[0] == 0, (topic, before, after)
    top_reason = after_cards[0].locator("p.reason").inner_text().strip()
    assert top_reason == f"You follow {topic}"
    # Its chip now says so (and unfollows), rather than offering to follow it again.
    followed_chip = after_cards[0].get_by_role("button", name=f"✓ {topic}", exact=True)
    expect(followed_chip).to_have_attribute("aria-pressed", "true")
    expect(after_cards[0].get_by_role("button", name=f"+ {topic}", exact=True)).to_have_count(0)
    # The n-th story about it is now at least as high as the n-th was before.
    assert all(a <= b for a, b in zip(after, before, strict=False)), (topic, before, after)


def test_a_story_told_by_several_outlets_opens_on_its_timeline(page: Page) -> None:
    sign_up(page, "timeline")
    page.goto("/")
    more_outlets = page.locator("p.meta a", has_text=re.compile(r"^\+\d+ outlets?$"))
    card = cards(page).filter(has=more_outlets).first
    expect(card).to_be_visible()
    story = card.get_attribute("data-story")
    link = card.locator("p.meta a")
    extra = int(re.sub(r"\D", "", link.inner_text()))

    link.click()
    page.wait_for_url(f"**/stories/{story}")
    meta = page.locator("main p.meta").inner_text()
    articles, outlets = (int(n) for n in re.findall(r"\d+", meta))
    assert outlets == extra + 1 >= 2
    timeline = page.get_by_role("img", name="Timeline of the story across outlets")
    expect(timeline).to_be_visible()
    assert timeline.evaluate("e => e.tagName.toLowerCase()") == "svg"
    expect(timeline.locator("circle")).to_have_count(articles)
    marks = [t.strip() for t in timeline.locator("a text").all_text_contents()]
    assert len(marks) == articles
    assert {m.split(" — ")[0] for m in marks} == {"Outlet A", "Outlet B"}
    assert any("Apple strikes new deal" in m for m in marks)
    assert any("Imagination Technologies ink new licensing" in m for m in marks)
    box = timeline.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50


def test_the_skip_link_comes_first_and_every_signup_field_is_labelled(
    page: Page,
) -> None:
    page.goto("/signup")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    expect(focused).to_have_attribute("href", "#main")
    expect(focused).to_be_in_viewport()  # shown once focused
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")

    fields = page.locator("main form input:not([type=hidden])")
    assert fields.count() >= 2
    labelled = {
        page.get_by_label(text, exact=True).get_attribute("id")
        for text in page.locator("main form label").all_inner_texts()
    }
    assert labelled == {f.get_attribute("id") for f in fields.all()}
    expect(page.get_by_label("Name", exact=True)).to_be_editable()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("type", "password")


def test_opening_an_article_counts_it_as_read_and_no_page_breaks_the_security_policy(
    page: Page, store: Tidings
) -> None:
    """The open is posted by the article page's script (a GET records nothing), and the
    pages run under a strict CSP without a single violation."""
    reader = sign_up(page, "reader")
    pick_topics(page, ["Sport"])
    violations = csp_violations(page)
    card = cards(page).first
    story = int(card.get_attribute("data-story") or 0)
    link = card.locator("h2 a")
    article = int((link.get_attribute("href") or "").rsplit("/", 1)[1])
    with page.expect_response(re.compile(rf"/articles/{article}/open$")) as opened:
        link.click()
    assert opened.value.status == 204 and opened.value.request.method == "POST"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    violations += csp_violations(page)

    with store.engine.connect() as connection:
        events = event_store.for_reader(connection, store.reader(reader).id)
    assert [(e.article_id, e.story_id) for e in events if e.kind is Kind.OPEN] == [(article, story)]
    for path in ("/", f"/stories/{story}", "/settings", "/hidden", "/saved", "/onboarding"):
        page.goto(path)
        violations += csp_violations(page)
    assert violations == []


def test_the_api_docs_render_with_nothing_from_another_site(page: Page) -> None:
    """Swagger UI and ReDoc come from the app itself (the page fixture refuses any other
    address), under their own CSP."""
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("tidings")
    expect(page.get_by_text("/api/v1/articles/{article_id}", exact=True)).to_be_visible()
    assert csp_violations(page) == []
    page.goto("/redoc")
    expect(page.get_by_role("heading", name=re.compile("^tidings"))).to_be_visible()
    expect(page.get_by_text("Newest articles").first).to_be_attached()
    # ReDoc's "API docs by Redocly" footer points at a logo on its CDN: the CSP stops that
    # fetch, which is the point; nothing else is refused.
    refused = [v for v in csp_violations(page) if "cdn.redoc.ly/redoc/logo-mini.svg" not in v]
    assert refused == []


# -- a page that feels like a news app --------------------------------------------------------


def _picture() -> bytes:
    """A 160 × 120 PNG (a soft gradient) standing in for outlets' photos, served locally:
    the screenshots show the layout with pictures, and nothing leaves 127.0.0.1."""
    width, height = 160, 120
    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in (60 + x // 3, 110 + y // 2, 160))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header), chunk(b"IDAT", zlib.compress(rows)),
         chunk(b"IEND", b"")]
    )  # fmt: skip


PICTURE = _picture()


def _offline(route: Route) -> None:
    """Another site's picture is answered with the local one; anything else is refused."""
    if route.request.resource_type == "image":
        route.fulfill(status=200, content_type="image/png", body=PICTURE)
    else:
        route.abort()


def _context(
    browser: Browser, base_url: str, viewport: dict[str, int], scheme: str = "light"
) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url, viewport=viewport, color_scheme=scheme,  # type: ignore[arg-type]
        device_scale_factor=1,
    )  # fmt: skip
    context.set_default_timeout(15_000)
    context.add_init_script(_WATCH_CSP)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), _offline)
    return context


def _shoot(page: Page, name: str, *, whole: bool = False) -> Path:
    """A screenshot in test-artifacts/ of what the reader sees (the viewport; ``whole``:
    the whole page, for an article's end: its "Read at" link and licence)."""
    page.evaluate("window.scrollTo(0, 0)")
    shot = artifacts() / f"{name}.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=shot, full_page=whole)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return shot


def _boxes(page: Page) -> list[dict[str, float]]:
    return [b for c in cards(page).all() if (b := c.bounding_box())]


def _fully_shown(page: Page, viewport: dict[str, int]) -> int:
    return sum(
        1 for b in _boxes(page) if b["y"] >= 0 and b["y"] + b["height"] <= viewport["height"]
    )


def _multi_outlet_story(page: Page) -> str:
    link = page.locator("p.meta a.outlets").first
    return (link.get_attribute("href") or "").rsplit("/", 1)[1]


def _article_with_text(store: Tidings) -> int:
    return next(a.id for a in store.articles(limit=200) if a.url and "wikinews.org" in a.url)


@pytest.mark.parametrize(("size", "viewport"), [("1280x900", LAPTOP), ("390x844", PHONE)])
def test_screenshots_of_each_page_at_laptop_and_phone_size_in_light_and_dark(
    browser: Browser, base_url: str, store: Tidings, size: str, viewport: dict[str, int]
) -> None:
    """Feed (light and dark), story, article and onboarding pages, as a reader sees them;
    the feed shows several compact cards a screen, in two columns on a laptop and one on a
    phone, and no page breaks the security policy."""
    for scheme in ("light", "dark"):
        context = _context(browser, base_url, viewport, scheme)
        try:
            page = context.new_page()
            sign_up(page, f"screens {size} {scheme}")
            _shoot(page, f"onboarding-{size}-{scheme}")
            pick_topics(page, ["Sport", "Environment"])
            expect(cards(page).first).to_be_visible()
            page.wait_for_load_state("networkidle")
            _shoot(page, f"feed-{size}-{scheme}")
            boxes = _boxes(page)
            columns = {round(b["x"]) for b in boxes}
            if viewport is LAPTOP:
                assert len(columns) == 2, columns  # two columns on a wide screen
                assert _fully_shown(page, viewport) >= 4
            else:
                assert len(columns) == 1, columns  # one column on a phone
                assert _fully_shown(page, viewport) >= 2
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            dark = scheme == "dark"
            assert (background == "rgb(17, 19, 22)") is dark, background

            story = _multi_outlet_story(page)
            page.goto(f"/stories/{story}")
            expect(
                page.get_by_role("img", name="Timeline of the story across outlets")
            ).to_be_visible()
            _shoot(page, f"story-{size}-{scheme}")
            page.goto(f"/articles/{_article_with_text(store)}")
            expect(page.get_by_role("link", name="Read at Wikinews →")).to_be_visible()
            _shoot(page, f"article-{size}-{scheme}", whole=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            assert csp_violations(page) == []
        finally:
            context.close()


def test_missing_and_failing_pictures_give_way_to_a_placeholder(page: Page) -> None:
    """Every other site is unreachable here, so each outlet's photo fails to load: no card
    shows a broken image, each shows the neutral placeholder with its source's initial."""
    sign_up(page, "offline")
    page.goto("/")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy pictures load too
    expect(page.locator(".thumb-box img")).to_have_count(0)
    boxes = page.locator("li.card .thumb-box")
    expect(boxes).to_have_count(cards(page).count())
    first = boxes.first
    letter = first.get_attribute("data-initial")
    assert letter and len(letter) == 1
    shown = first.evaluate("b => getComputedStyle(b, '::before').content")
    assert shown == f'"{letter}"'
    broken = page.evaluate(
        "[...document.images].filter(i => i.complete && i.naturalWidth === 0"
        " && i.checkVisibility()).length"
    )
    assert broken == 0


def test_cards_show_source_badges_relative_times_and_the_full_date_on_hover(page: Page) -> None:
    sign_up(page, "times")
    page.goto("/")
    card = cards(page).first
    expect(card.locator(".badge")).to_have_text(re.compile(r"^\w$"))
    when = card.locator("p.meta time, p.meta .undated").first
    text = when.inner_text()
    assert re.fullmatch(r"just now|\d+ min ago|\d+ h ago|\d+ d ago|\d+ \w{3} \d{4}|undated", text)
    if text != "undated":
        assert re.fullmatch(
            r"\w+day \d+ \w+ \d{4}, \d\d:\d\d UTC", when.get_attribute("title") or ""
        )


def test_keyboard_shortcuts_move_open_save_and_hide_but_never_while_typing(
    page: Page, store: Tidings
) -> None:
    reader = sign_up(page, "keys")
    page.goto("/")
    page.keyboard.press("j")
    expect(cards(page).nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(cards(page).nth(1)).to_be_focused()
    outline = cards(page).nth(1).evaluate("c => getComputedStyle(c).outlineStyle")
    assert outline != "none"  # the reader sees where they are
    page.keyboard.press("k")
    expect(cards(page).nth(0)).to_be_focused()

    help_box = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_box).to_be_hidden()
    page.keyboard.press("?")
    expect(help_box).to_be_visible()
    for key in "jkosh?":
        expect(help_box.locator("kbd", has_text=re.compile(rf"^{re.escape(key)}$"))).to_have_count(
            1
        )
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()

    # s saves the card in focus; the page comes back on the same card
    page.keyboard.press("j")
    second = cards(page).nth(1)
    saved = int(second.get_attribute("data-story") or 0)
    expect(second).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("s")
    expect(page.get_by_role("status")).to_have_text("Saved. Find it under Saved.")
    expect(page.locator(f"li.card[data-story='{saved}']")).to_be_focused()
    assert saved in [s.id for s in store.saved(reader)]

    # h hides it: gone, and the focus is on the story that took its place
    place = story_ids(page).index(str(saved))
    with page.expect_navigation():
        page.keyboard.press("h")
    expect(page.locator(f"li.card[data-story='{saved}']")).to_have_count(0)
    expect(cards(page).nth(place)).to_be_focused()

    # o opens the card in focus
    links = [c.locator("h2 a").get_attribute("href") or "" for c in cards(page).all()]
    index = next(i for i, href in enumerate(links) if href.startswith("/articles/"))
    page.goto("/")
    for _ in range(index + 1):
        page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"**{links[index]}")

    # keys typed into a field are text, not shortcuts
    page.goto("/settings")
    field = page.get_by_label("Feed URL (RSS, Atom or JSON Feed)")
    field.click()
    page.keyboard.type("j?h")
    expect(field).to_have_value("j?h")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    assert page.url.endswith("/settings")


def test_a_missing_page_is_a_styled_404_with_a_way_back_and_the_site_has_an_icon(
    page: Page,
) -> None:
    answer = page.goto("/no/such/page")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    back = page.get_by_role("link", name="Go to the front page")
    expect(back).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # styled
    assert csp_violations(page) == []
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    linked = page.locator("link[rel=icon]").first.get_attribute("href") or ""
    assert page.request.get(linked).status == 200


@pytest.mark.parametrize(("size", "viewport"), [("1280", LAPTOP), ("390", PHONE)])
def test_slash_goes_to_the_search_box_and_enter_shows_marked_results(
    browser: Browser, base_url: str, size: str, viewport: dict[str, int]
) -> None:
    """From the feed, "/" puts the reader in the search box (typing nothing there), Enter
    shows the stories with the words marked, and the reader can follow the search."""
    context = _context(browser, base_url, viewport)
    try:
        page = context.new_page()
        sign_up(page, f"searcher {size}")
        page.goto("/")
        box = page.get_by_role("searchbox", name="Search stories")
        expect(box).not_to_be_focused()
        page.keyboard.press("/")
        expect(box).to_be_focused()
        expect(box).to_have_value("")
        page.keyboard.type("North Korea")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert re.search(r"/search\?q=North\+Korea$", page.url), page.url
        expect(page.get_by_role("heading", level=1)).to_have_text("Stories matching “North Korea”")
        results = page.locator("ol.results > li.result")
        expect(results.first).to_be_visible()
        seed = results.filter(has_text="China vows to work with North Korea")
        expect(seed).to_have_count(1)
        marks = [m.strip().casefold() for m in seed.locator("mark").all_inner_texts()]
        assert marks and set(marks) <= {"north", "korea"}, marks
        expect(box).to_have_value("North Korea")
        page.wait_for_load_state("networkidle")
        _shoot(page, f"search-{size}")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.keyboard.press("/")  # to the box again, the query selected to type over
        expect(box).to_be_focused()
        page.keyboard.press("/")  # in the box, "/" is only a character
        expect(box).to_have_value("/")

        with page.expect_navigation():
            page.get_by_role("button", name="Follow this search").click()
        expect(page.get_by_role("status")).to_contain_text("You follow the search")
        feed_link = page.get_by_label("Private Atom feed of this search")
        expect(feed_link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/feeds/.+\.atom$"))
        atom = page.request.get(feed_link.input_value())
        assert atom.status == 200 and b"China vows" in atom.body()
        assert csp_violations(page) == []
    finally:
        context.close()
