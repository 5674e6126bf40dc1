"""A reader's first ten minutes on the demo: what a newcomer meets right after
``tidings serve`` on an empty store — the bundled pack, already understood."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, fresh_database
from tidings.library import Tidings


@pytest.fixture(scope="module", params=BACKENDS)
def demo_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tidings]:
    folder: Path = tmp_path_factory.mktemp("demo")
    with fresh_database(request.param, folder) as url, Tidings(url) as tidings:
        loaded = tidings.load_demo()
        assert loaded.understood == loaded.added  # nothing left for the models
        yield tidings


def test_onboarding_offers_topics_not_outlets_and_no_duplicates(demo_store: Tidings) -> None:
    offered = demo_store.popular_topics(30)
    names = [name for _, name, _ in offered]
    assert len(names) == 30
    assert len({n.casefold() for n in names}) == len(names)
    assert not {"Wikinews", "BBC", "Associated Press", "Reuters"} & set(names)


def test_three_onboarding_follows_give_multi_outlet_stories_with_varied_true_reasons(
    demo_store: Tidings,
) -> None:
    follows = [name for _, name, _ in demo_store.popular_topics(3)]
    demo_store.add_reader("newcomer", follows=follows)
    page = demo_store.feed("newcomer", limit=20, record=False)
    first_screen = page.items[:10]
    assert sum(item.outlets >= 2 for item in page.items) >= 3
    assert len({item.reason.code for item in first_screen}) >= 2
    # "You follow X" names a topic of the article shown (or says which report carries it).
    for item in page.items:
        if item.reason.code == "followed" and " — in " not in item.reason.text:
            shown = {t.name for t in item.article.topics} | {t.name for t in item.article.entities}
            followed = item.reason.text.removeprefix("You follow ")
            assert followed in shown, (item.article.title, item.reason.text)


def test_a_newcomer_without_follows_opens_on_a_varied_recent_page(demo_store: Tidings) -> None:
    demo_store.add_reader("browser")
    page = demo_store.feed("browser", limit=20, record=False)
    sections = {item.article.section.name for item in page.items if item.article.section}
    assert len(sections) >= 3
    # The demo's newest news is 10–12 March 2014: that is what opens the page.
    dated = [item.article.published for item in page.items[:10] if item.article.published]
    assert dated and min(dated).year == 2014
    assert sum(item.outlets >= 2 for item in page.items[:10]) >= 3
