"""A followed search feeds the reader's ranked feed (issue 14): a story arriving after the
reader saved a search and matching it comes to the top of their feed with "Matches your
search '…'" beside it — for them alone, until they unfollow it, and never past a mute.

The stores hold the small page captures of ``tests/fixtures/captures`` (no ../shared
needed), understood: one per backend shared by the tests with readers of their own, and one
per arrival test, the ferry article ingested last.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidings.library import Tidings

from .conftest import BACKENDS, understood_store

CAPTURES = Path(__file__).parent / "fixtures" / "captures"
LATE = CAPTURES / "bbc_style_ferry_fine.txt"
FERRY = "Ferry operator fined £120,000 after lorry plunged into Ullapool harbour"
ALL = sorted(CAPTURES.glob("*.txt"))
_names = itertools.count()


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tidings]:
    """Every capture, the ferry article among them, understood."""
    folder = tmp_path_factory.mktemp("search_follow")
    with understood_store(request.param, folder, ALL) as tidings:
        yield tidings


@pytest.fixture
def reader(store: Tidings) -> str:
    return store.add_reader(f"searcher {next(_names)}").name


def _reasons(store: Tidings, reader: str) -> dict[str, tuple[str, str]]:
    """Each feed item's title → its reason (code, text), the whole feed, nothing logged."""
    page = store.feed(reader, limit=100, record=False)
    return {i.article.title: (i.reason.code, i.reason.text) for i in page.items}


def _story_of(store: Tidings, reader: str, title: str) -> int:
    page = store.feed(reader, limit=100, record=False)
    return next(i.story_id for i in page.items if i.article.title == title)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_story_arriving_after_a_search_is_followed_leads_the_feed_naming_the_search(
    backend: str, tmp_path: Path
) -> None:
    with understood_store(backend, tmp_path, [p for p in ALL if p != LATE]) as store:
        reader = store.add_reader("fiona").name
        other = store.add_reader("oscar").name
        saved = store.follow_search(reader, "lorry ramp")
        assert saved.query == "lorry ramp"
        assert all(code != "search" for code, _ in _reasons(store, reader).values())

        assert all(r.status == "ok" for r in store.ingest([str(LATE)]))
        store.understand()

        page = store.feed(reader, limit=30, record=False)
        top = page.items[0]
        assert top.article.title == FERRY  # a match counts as followed: it leads the feed
        assert top.reason.code == "search"
        assert top.reason.text == "Matches your search 'lorry ramp'"
        # only this story matched: no other card claims the search
        assert [i.article.title for i in page.items if i.reason.code == "search"] == [FERRY]

        # a reader who follows no search is given no such reason for the same story
        code, text = _reasons(store, other)[FERRY]
        assert code != "search" and "search" not in text

        # unfollowing the search takes the reason away at once
        store.unfollow_search(reader, saved.id)
        assert _reasons(store, reader)[FERRY][0] != "search"


def test_a_long_followed_search_is_named_cut_short_with_an_ellipsis(
    store: Tidings, reader: str
) -> None:
    query = "Ullapool Stornoway Inverness harbour lorry ramp hydraulic frozen fish sheared"
    store.follow_search(reader, query)
    code, text = _reasons(store, reader)[FERRY]
    assert code == "search"
    named = text.removeprefix("Matches your search '").removesuffix("…'")
    assert text.endswith("…'") and query.startswith(named)
    assert 30 < len(named) < 60


def test_a_muted_topic_keeps_a_story_out_though_it_matches_a_followed_search(
    store: Tidings, reader: str
) -> None:
    store.follow_search(reader, "Ullapool")
    assert _reasons(store, reader)[FERRY][0] == "search"
    story = _story_of(store, reader, FERRY)
    store.mute(reader, "Ullapool")
    assert FERRY not in _reasons(store, reader)
    assert story in {f.story_id for f in store.filtered(reader) if f.reason == "muted"}


def test_a_hidden_story_stays_hidden_though_it_matches_a_followed_search(
    store: Tidings, reader: str
) -> None:
    store.follow_search(reader, "Ullapool")
    store.record(reader, "hide", story_id=_story_of(store, reader, FERRY))
    assert FERRY not in _reasons(store, reader)
