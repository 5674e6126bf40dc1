"""The ranked feed on a small corpus built here — six events of March 2014, each told by
three outlets, older single reports, and two undated page captures: freshness is relative
to the corpus, undated items claim no date, pages neither repeat nor skip a story while
articles arrive, and every reason is true of the card it is on."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tidings.errors import InputError
from tidings.library import Tidings
from tidings.rank import reasons
from tidings.rank.cursor import StaleCursor
from tidings.rank.features import FEATURES
from tidings.store.schema import feed_snapshots

from .conftest import BACKENDS, understood_store

OUTLETS = ("Daily Ledger", "Evening Courier", "Metro Wire")
# (day of March 2014, headline, text) — each told by every outlet, in its own words
EVENTS = [
    (
        12,
        "Senate passes farm subsidy bill after marathon debate",
        "The Senate passed the farm subsidy bill on Wednesday after a debate that lasted "
        "through the night. Senator Maria Lopez said the bill would protect family farms "
        "from falling grain prices. Opponents in the Senate called the subsidies wasteful.",
    ),
    (
        12,
        "Northwind Airlines shares fall after profit warning",
        "Shares in Northwind Airlines fell 14 percent on the stock exchange after the "
        "carrier warned that annual profit would miss forecasts. Investors cited high fuel "
        "costs, and analysts cut their targets for the airline's shares.",
    ),
    (
        11,
        "Riverside United beat Castleford 3-1 in cup semi-final",
        "Riverside United beat Castleford 3-1 in the cup semi-final, with striker Tom "
        "Harding scoring twice in the second half. The football club will play the final at "
        "the national stadium next month; the goalkeeper saved a penalty.",
    ),
    (
        11,
        "Astronomers find water vapour on exoplanet Kepler-93c",
        "Astronomers using the Hubble Space Telescope found water vapour in the atmosphere "
        "of the exoplanet Kepler-93c. The scientists said the planet orbits its star in the "
        "habitable zone, and their study appears in the journal Nature.",
    ),
    (
        10,
        "Measles outbreak in Lyon prompts vaccination drive",
        "Health officials in Lyon began a vaccination drive after a measles outbreak "
        "infected 40 children. Hospitals urged parents to vaccinate; doctors said the virus "
        "spreads quickly in schools where vaccination rates are low.",
    ),
    (
        10,
        "Orbitel unveils foldable smartphone with week-long battery",
        "Orbitel unveiled a foldable smartphone whose battery lasts a week, at a technology "
        "fair in Barcelona. The company said the phone's software and chips were designed "
        "in house, and the device goes on sale in the summer.",
    ),
]
OLDER = [
    (
        "2012-05-03",
        "Jewel thieves raid Antwerp diamond dealer",
        "Police in Antwerp are hunting armed thieves who stole diamonds from a dealer; "
        "detectives said the robbers escaped in a stolen van and no arrests were made.",
    ),
    (
        "2012-05-04",
        "Film director wins festival prize for silent comedy",
        "A film director won the festival's top prize for a silent comedy; the actors and "
        "the film's composer joined her on stage at the award ceremony in Cannes.",
    ),
]
# Carried by one telling of the first event only: the Metro Wire's.
ONLY_ONE = "Farm Policy Watch"
_names = itertools.count()


def _corpus(folder: Path) -> Path:
    lines = []
    for n, (day, headline, text) in enumerate(EVENTS):
        for m, outlet in enumerate(OUTLETS):
            lines.append(
                {
                    "id": f"event-{n}-{m}",
                    "title": headline if m == 0 else f"{headline} ({outlet})",
                    "url": f"https://{outlet.lower().replace(' ', '')}.example/{n}",
                    "published": f"2014-03-{day:02d}T{9 + m}:00:00Z",
                    "source": outlet,
                    "text": text,
                    "categories": [ONLY_ONE] if (n, m) == (0, 2) else [],
                }
            )
    for n, (date, headline, text) in enumerate(OLDER):
        lines.append(
            {
                "id": f"older-{n}",
                "title": headline,
                "url": f"https://archive.example/{n}",
                "published": f"{date}T12:00:00Z",
                "source": "Archive Times",
                "text": text,
            }
        )
    path = folder / "march-2014.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    return path


def _captures(folder: Path) -> list[Path]:
    """Two plain-text page captures that give no date (as the seed page does)."""
    pages = {
        "lighthouse.txt": (
            "Volunteers restore the old lighthouse keeper's cottage",
            "Volunteers have finished restoring the lighthouse keeper's cottage on the "
            "headland, after three years of weekend work.",
            "The cottage opens to visitors as a small museum about the keepers who lived "
            "there, with their logbooks and lamps on show.",
        ),
        "orchard.txt": (
            "Village orchard saves rare apple varieties from disappearing",
            "A village orchard has planted grafts of forty rare apple varieties that were "
            "about to disappear from the county.",
            "Gardeners collected the cuttings from old farm trees and will share the fruit "
            "with the village school.",
        ),
    }
    paths = []
    for name, lines in pages.items():
        path = folder / name
        path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tidings]:
    folder = tmp_path_factory.mktemp("honest")
    inputs = [_corpus(folder), *_captures(folder)]
    with understood_store(request.param, folder, inputs) as tidings:
        yield tidings


@pytest.fixture
def reader(store: Tidings) -> str:
    return store.add_reader(f"reader {next(_names)}").name


def _ids(page: object) -> list[int]:
    return [item.story_id for item in page.items]  # type: ignore[attr-defined]


def _snapshot(store: Tidings, cursor: str) -> list[int]:
    with store.engine.connect() as connection:
        snapshot = int(cursor.split("-")[0])
        stories = connection.execute(
            select(feed_snapshots.c.stories).where(feed_snapshots.c.id == snapshot)
        ).scalar_one()
    return [int(i) for i in stories]


# -- freshness and honest dates ---------------------------------------------------------------


def test_the_newest_day_of_an_old_corpus_ranks_as_fresh(store: Tidings, reader: str) -> None:
    page = store.feed(reader, limit=10, record=False)
    assert store.feeds.pool().clock.date().isoformat() == "2014-03-12"
    dated = [i for i in page.items if i.published is not None]
    # The corpus' last day opens the page; the 2012 reports come after every March story.
    assert dated[0].published.date().isoformat() >= "2014-03-11"
    years = [i.published.year for i in dated]
    assert years == sorted(years, reverse=True)


def test_a_new_reader_opens_on_several_sections_and_stories_told_by_several_outlets(
    store: Tidings, reader: str
) -> None:
    top = store.feed(reader, limit=6, record=False).items
    sections = {i.article.section.name for i in top if i.article.section}
    assert len(sections) >= 3
    assert sum(i.outlets >= 2 for i in top) >= 3


def test_an_undated_capture_claims_no_date_and_is_never_the_newest(
    store: Tidings, reader: str
) -> None:
    page = store.feed(reader, limit=50, record=False)
    undated = [i for i in page.items if i.undated]
    assert len(undated) == 2
    for item in undated:
        shown = item.to_dict()
        assert shown["published"] is None and shown["undated"] is True
        assert item.reason.code != "fresh"
        story = store.story(item.story_id)
        assert story.first_published is None and story.last_published is None
        assert story.to_dict()["undated"] is True
    # Listed after every dated story (newest first), not as the news of the day it arrived.
    listed = store.stories(limit=50)
    flags = [s.last_published is None for s in listed]
    assert flags == sorted(flags) and flags[-1]
    # Undated things never set "now": the clock is still the corpus' newest publication.
    assert store.feeds.pool().clock.year == 2014


# -- stable paging ----------------------------------------------------------------------------


def test_pages_read_one_snapshot_while_articles_arrive_with_no_repeat_and_no_gap(
    store: Tidings, reader: str, tmp_path: Path
) -> None:
    first = store.feed(reader, limit=3, record=False)
    assert first.next_cursor is not None
    order = _snapshot(store, first.next_cursor)
    # New articles land and are understood between two pages: they are newer than anything
    # shown, so an offset cursor would now repeat stories.
    arriving = tmp_path / "arriving.jsonl"
    arriving.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"late-{n}",
                    "title": f"Late news number {n}: council approves tram line {n}",
                    "url": f"https://late.example/{n}",
                    "published": "2014-03-12T23:00:00Z",
                    "source": "Late Post",
                    "text": f"The city council approved tram line {n} after a vote on Wednesday.",
                }
            )
            for n in range(4)
        ),
        encoding="utf-8",
    )
    assert all(r.status == "ok" for r in store.ingest([str(arriving)]))
    store.understand()
    pages = [_ids(first)]
    cursor = first.next_cursor
    while cursor is not None:
        page = store.feed(reader, limit=3, cursor=cursor, record=False)
        pages.append(_ids(page))
        cursor = page.next_cursor
    served = [story for page in pages for story in page]
    assert len(served) == len(set(served))  # no story twice
    assert served[: len(order)] == order  # none skipped: the snapshot, in its order
    assert pages[1][0] == order[3]


def test_a_story_hidden_after_the_first_page_is_passed_over(store: Tidings, reader: str) -> None:
    first = store.feed(reader, limit=3, record=False)
    order = _snapshot(store, first.next_cursor or "")
    store.record(reader, "hide", story_id=order[4])
    second = store.feed(reader, limit=3, cursor=first.next_cursor, record=False)
    assert _ids(second) == [order[3], order[5], order[6]]
    assert [i.rank for i in second.items] == [4, 6, 7]


def test_old_unknown_and_foreign_cursors_are_refused_saying_what_to_do(
    store: Tidings, reader: str
) -> None:
    with pytest.raises(InputError, match="offset cursor of an earlier version"):
        store.feed(reader, cursor="20")
    with pytest.raises(InputError, match="not a feed cursor"):
        store.feed(reader, cursor="next please")
    with pytest.raises(StaleCursor, match="load the feed again from its first page"):
        store.feed(reader, cursor="987654321-10")
    other = store.add_reader(f"reader {next(_names)}").name
    theirs = store.feed(other, limit=3, record=False).next_cursor
    assert theirs is not None
    with pytest.raises(StaleCursor):
        store.feed(reader, cursor=theirs)


def test_the_api_answers_a_stale_cursor_with_422_naming_it(store: Tidings) -> None:
    from tidings.web import create_app

    client = TestClient(create_app(store))
    answer = client.post(
        "/api/v1/accounts", json={"name": f"api {next(_names)}", "password": "correct horse"}
    )
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {answer.json()['token']}"}
    for cursor in ("20", "987654321-10"):
        refused = client.get("/api/v1/feed", headers=auth, params={"cursor": cursor})
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["fields"][0]["field"] == "cursor" and "first page" in error["message"]
    page = client.get("/api/v1/feed", headers=auth, params={"limit": 2}).json()
    item = page["items"][0]
    assert {"published", "undated"} <= set(item)
    after = client.get("/api/v1/feed", headers=auth, params={"cursor": page["next_cursor"]})
    assert after.status_code == 200 and item["story_id"] not in [
        i["story_id"] for i in after.json()["items"]
    ]


# -- reasons true of the card -----------------------------------------------------------------


def test_following_a_topic_of_one_telling_shows_that_telling_or_says_which(
    store: Tidings, reader: str
) -> None:
    store.follow(reader, ONLY_ONE)
    page = store.feed(reader, limit=20, record=False)
    (item,) = [i for i in page.items if i.reason.code == "followed"]
    assert item.reason.text == f"You follow {ONLY_ONE}"
    assert ONLY_ONE in {t.name for t in item.article.topics}  # the Metro Wire's telling
    assert item.article.source == "Metro Wire"


def test_a_followed_topic_carried_by_another_telling_is_named_with_its_report() -> None:
    nothing = np.zeros(len(FEATURES))
    elsewhere = reasons.Evidence(followed_elsewhere=("North Korea", "Reuters"), outlets=3)
    assert reasons.explain(nothing, nothing, elsewhere).text == (
        "You follow North Korea — in Reuters’ report"
    )
    anonymous = reasons.Evidence(followed_elsewhere=("North Korea", None))
    assert reasons.explain(nothing, nothing, anonymous).text == (
        "You follow North Korea — in another report of this story"
    )


def test_a_source_the_reader_added_is_the_reason_only_on_its_own_articles(
    store: Tidings, reader: str
) -> None:
    store.follow(reader, "source:Metro Wire")
    page = store.feed(reader, limit=20, record=False)
    added = [i for i in page.items if i.reason.code == "added"]
    assert added
    assert all(i.reason.text == "From Metro Wire, which you added" for i in added)
    assert all(i.article.source == "Metro Wire" for i in added)
    assert not [i for i in page.items if "Metro Wire" in i.reason.text and i not in added]


def test_a_reader_with_three_follows_sees_more_than_one_kind_of_reason(
    store: Tidings, reader: str
) -> None:
    for section in ("Politics", "Business", "Science"):
        store.follow(reader, section)
    first_screen = store.feed(reader, limit=10, record=False).items
    assert len({i.reason.code for i in first_screen}) >= 2
    followed = [i.reason.text for i in first_screen if i.reason.code == "followed"]
    assert max(followed.count(t) for t in followed) <= reasons.SAME_TEXT


# -- muting what one follows ------------------------------------------------------------------


def test_muting_a_followed_topic_says_the_follow_was_dropped(store: Tidings, reader: str) -> None:
    store.follow(reader, "Sport")
    muted = store.mute(reader, "Sport")
    assert muted == "Sport" and muted.unfollowed
    assert muted.message == "Muted Sport (you no longer follow it)"
    assert store.following(reader) == {"follows": [], "mutes": ["Sport"]}
    again = store.mute(reader, "Health")
    assert not again.unfollowed and again.message == "Muted Health"

    from tidings.web import create_app

    client = TestClient(create_app(store))
    answer = client.post(
        "/api/v1/accounts", json={"name": f"api {next(_names)}", "password": "correct horse"}
    )
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {answer.json()['token']}"}
    client.post("/api/v1/follows", headers=auth, json={"topic": "Sport"})
    dropped = client.post("/api/v1/mutes", headers=auth, json={"topic": "Sport"}).json()
    assert dropped == {
        "muted": "Sport",
        "unfollowed": True,
        "message": "Muted Sport (you no longer follow it)",
    }
