"""Search, as a reader meets it: type words or a question, get stories — by their words and
by their meaning — with the matched words marked and a reason on each row."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.conftest import BACKENDS, SEED, fresh_database
from tidings.errors import BadQuery, InputError, NotFound
from tidings.library import Tidings
from tidings.search import SearchPage, parse
from tidings.search.personal import Row, fuse, personalise
from tidings.store import database


@pytest.fixture(scope="module", params=BACKENDS)
def demo_and_seed(
    request: pytest.FixtureRequest, shared: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Tidings, int]]:
    """The bundled demo with the seed capture ingested and understood, on each backend;
    and the seed article's id."""
    with (
        fresh_database(request.param, tmp_path_factory.mktemp("search")) as url,
        Tidings(url) as tidings,
    ):
        tidings.load_demo()
        (result,) = tidings.ingest([str(shared / SEED)])
        tidings.understand()
        yield tidings, result.articles[0]


def _write(folder: Path, name: str, articles: list[dict[str, object]]) -> str:
    path = folder / name
    path.write_text("\n".join(json.dumps(a) for a in articles) + "\n", encoding="utf-8")
    return str(path)


def _article(slug: str, title: str, body: str, **more: object) -> dict[str, object]:
    return {
        "url": f"https://news.example/{slug}",
        "title": title,
        "text": body,
        "published": "2014-03-10T12:00:00Z",
        **more,
    }


# -- what a reader types ---------------------------------------------------------------------


def test_a_query_understands_phrases_exclusions_and_filters() -> None:
    query = parse('"Kim Jong-un" missiles -Trump source:"The Guardian" after:2014-03-01')
    assert query.phrases == (("kim", "jong", "un"),)
    assert query.words == ("missiles",)
    assert query.excluded == (("trump",),)
    assert query.sources == ("The Guardian",)
    assert query.after == datetime(2014, 3, 1, tzinfo=UTC)


def test_engine_syntax_and_stray_quotes_are_only_text() -> None:
    query = parse('NEAR(a b) OR title:* ^c "unbalanced')
    assert query.words == ("near", "b", "title", "c", "unbalanced")
    assert query.phrases == ()
    assert parse('"unbalanced quote').phrases == (("unbalanced", "quote"),)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-everything", "give a word"),
        ("x" * 10_240, "10,240 characters; at most 500"),
        ("before:yesterday korea", "before:yesterday is not a date"),
        ("before:9999-12-31T23:59-05:00 korea", "is not a date"),
        ("after:0001-01-02 korea", "after:0001-01-02 is out of range"),
        ("-source:reuters korea", "-source: is not supported"),
    ],
)
def test_a_query_that_cannot_run_says_why(typed: str, problem: str) -> None:
    with pytest.raises(BadQuery, match=re.escape(problem)) as caught:
        parse(typed)
    assert str(caught.value).startswith("query: ")


# -- the seed, among the demo ----------------------------------------------------------------


def test_the_seed_is_first_for_its_own_words(demo_and_seed: tuple[Tidings, int]) -> None:
    tidings, seed = demo_and_seed
    page = tidings.search("China North Korea regional stability")
    first = page.hits[0]
    assert first.article.id == seed
    assert first.reason.text == "Matches your words"
    marked = {first.snippet[a:b].lower() for a, b in first.highlights}
    assert {"china", "korea"} <= marked


def test_words_it_does_not_share_still_find_the_seed_by_meaning(
    demo_and_seed: tuple[Tidings, int],
) -> None:
    tidings, seed = demo_and_seed
    query = "Beijing pledges cooperation with Pyongyang"
    meaning = [i for i, _ in tidings.searcher.rank_articles(query, mode="meaning", limit=5)]
    assert seed in meaning
    assert seed in [h.article.id for h in tidings.search(query, limit=5).hits]


def test_results_are_stories_each_once(demo_and_seed: tuple[Tidings, int]) -> None:
    tidings, _ = demo_and_seed
    page = tidings.search("Ukraine Crimea referendum", limit=30)
    stories = [h.story_id for h in page.hits]
    assert len(stories) == 30 and len(set(stories)) == 30
    # The demo's headlines come from many outlets: the rows say how many told each story.
    assert max(h.outlets for h in page.hits) > 1
    for hit in page.hits:
        assert hit.article.to_dict().items() <= hit.to_dict().items()
        assert hit.reason.text


def test_accents_and_word_forms_match(demo_and_seed: tuple[Tidings, int]) -> None:
    tidings, seed = demo_and_seed
    first = tidings.search("Pyöngyang regional stability").hits[0]
    assert first.article.id == seed
    assert "Pyongyang" in {first.snippet[a:b] for a, b in first.highlights}


def test_a_phrase_must_appear_and_an_excluded_word_must_not(
    demo_and_seed: tuple[Tidings, int],
) -> None:
    tidings, _ = demo_and_seed
    hits = tidings.search('"North Korea" -China', limit=40).hits
    assert len(hits) >= 20
    for hit in hits:
        words = " ".join([hit.article.title, *hit.article.key_points, *hit.article.paragraphs])
        assert re.search(r"\bnorth korea", words, re.I), hit.article.title
        assert not re.search(r"\bchina\b", words, re.I), hit.article.title


def test_filters_narrow_by_source_topic_and_date(demo_and_seed: tuple[Tidings, int]) -> None:
    tidings, _ = demo_and_seed
    by_source = tidings.search("oil source:reuters", limit=50).hits
    assert by_source and all("reuters" in (h.article.source or "").lower() for h in by_source)
    dated = tidings.search("election after:2008-01-01 before:2009-01-01", limit=50).hits
    assert dated
    for hit in dated:
        published = hit.article.published
        assert published is not None
        assert datetime(2008, 1, 1, tzinfo=UTC) <= published < datetime(2009, 1, 1, tzinfo=UTC)
    about = tidings.search("topic:China", limit=20).hits  # filters alone: the newest
    assert about and all(h.reason.code == "filters" for h in about)


def test_paging_with_the_cursor_repeats_nothing(demo_and_seed: tuple[Tidings, int]) -> None:
    tidings, _ = demo_and_seed
    seen: list[int | None] = []
    cursor = None
    for _ in range(3):
        page = tidings.search("president election", limit=10, cursor=cursor)
        seen += [h.story_id for h in page.hits]
        cursor = page.next_cursor
        assert cursor
    assert len(seen) == 30 and len(set(seen)) == 30
    with pytest.raises(InputError, match="cursor"):
        tidings.search("another search", cursor=cursor)
    with pytest.raises(InputError, match="cursor"):
        tidings.search("president election", cursor="not-a-cursor")
    with pytest.raises(InputError, match="cursor"):  # {"o": -1e999, "q": "x"}
        tidings.search("president election", cursor="eyJvIjotMWU5OTksInEiOiJ4In0")


def test_a_reader_sees_what_they_follow_higher_and_the_best_match_stays_first(
    demo_and_seed: tuple[Tidings, int],
) -> None:
    tidings, _ = demo_and_seed
    query = "nuclear talks"
    anonymous = tidings.search(query, limit=20).hits
    reader = tidings.add_reader(f"searcher-{len(tidings.readers())}")
    followed = next(t for h in anonymous[5:] for t in h.article.topics if t.kind == "label")
    tidings.follow(reader.id, followed.name)
    personal = tidings.search(query, reader=reader.id, limit=20).hits
    assert personal[0].story_id == anonymous[0].story_id
    hit = next(h for h in personal if h.reason.code == "followed")
    assert hit.reason.text == f"You follow {followed.name}"
    assert hit.rank <= next(h.rank for h in anonymous if h.story_id == hit.story_id)


def test_a_followed_search_is_listed_fed_as_atom_and_can_be_dropped(
    demo_and_seed: tuple[Tidings, int],
) -> None:
    tidings, seed = demo_and_seed
    reader = tidings.add_reader(f"saver-{len(tidings.readers())}")
    saved = tidings.follow_search(reader.id, '  "North Korea"   stability ')
    assert saved.query == '"North Korea" stability'
    assert [s.id for s in tidings.saved_searches(reader.id)] == [saved.id]
    who, found, page = tidings.search_feed(tidings.feed_token(reader.id), saved.id)
    assert who.id == reader.id and found.query == saved.query
    assert seed in [h.article.id for h in page.hits]
    assert all(
        h.reason.text == "Matches your search '\"North Korea\" stability'" for h in page.hits
    )
    with pytest.raises(NotFound):
        tidings.search_feed(tidings.feed_token(reader.id), "000000000000")
    tidings.unfollow_search(reader.id, saved.id)
    assert tidings.saved_searches(reader.id) == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.sampled_from(list("abc xyz\"-:*^()+~.,'\\NEAROT\u00e9\u0000\u200b")),
        max_size=40,
    )
)
def test_no_query_breaks_the_search(demo_and_seed: tuple[Tidings, int], typed: str) -> None:
    tidings, _ = demo_and_seed
    try:
        page = tidings.search(typed, limit=3)
    except BadQuery as caught:
        assert str(caught).startswith("query: ")
    else:
        assert isinstance(page, SearchPage)


# -- the index is the store's own -------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_index_follows_every_change_to_an_article(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, Tidings(url) as tidings:
        first = _article("a", "Quarry approved", "The zanzibarite quarry was approved.")
        other = _article("b", "Harbour news", "Boats came in.")
        assert [r.status for r in tidings.ingest([_write(tmp_path, "1.jsonl", [first, other])])]
        assert [h.article.title for h in tidings.search("zanzibarite").hits] == ["Quarry approved"]

        changed = {**first, "text": "The malachite quarry was refused after all."}
        list(tidings.ingest([_write(tmp_path, "2.jsonl", [changed])]))
        assert tidings.search("zanzibarite").hits == []
        assert [h.article.title for h in tidings.search("malachite").hits] == ["Quarry approved"]

        with tidings.engine.begin() as connection:
            connection.execute(text("DELETE FROM articles WHERE title = 'Quarry approved'"))
        assert tidings.search("malachite").hits == []
        assert [h.article.title for h in tidings.search("boats").hits] == ["Harbour news"]
        if backend == "sqlite":  # the index agrees with the articles it was made from
            with tidings.engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO article_search(article_search, rank)"
                        " VALUES ('integrity-check', 1)"
                    )
                )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_store_made_before_search_is_indexed_when_it_upgrades(
    backend: str, tmp_path: Path
) -> None:
    from sqlalchemy import create_engine

    from tidings.ingest import pipeline
    from tidings.store import documents

    with fresh_database(backend, tmp_path) as url:
        engine = create_engine(url)
        database.migrate(engine, "0009")
        path = _write(tmp_path, "old.jsonl", [_article("old", "Old news", "A heron was seen.")])
        doc = pipeline.read(path)
        kind, parsed = pipeline.parse(doc, None)
        with engine.begin() as connection:
            documents.save(connection, doc, kind, parsed, now=datetime.now(UTC))
        engine.dispose()
        with Tidings(url) as tidings:  # opening migrates to the newest revision
            assert [h.article.title for h in tidings.search("heron").hits] == ["Old news"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_other_word_forms_and_accents_match_and_are_marked(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, Tidings(url) as tidings:
        body = "Owners of the Café Müller pledged their support to the striking bakers."
        list(tidings.ingest([_write(tmp_path, "a.jsonl", [_article("c", "Bakers strike", body)])]))
        (hit,) = tidings.search("cafe muller pledges").hits
        assert [hit.snippet[a:b] for a, b in hit.highlights] == ["Café", "Müller", "pledged"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_saved_searchs_feed_has_its_newest_matches_however_many_older_ones_match_better(
    backend: str, tmp_path: Path
) -> None:
    older = [
        {
            **_article(f"k{n}", f"Korea report {n}", "Korea, Korea and Korea again."),
            "published": "2014-01-01T00:00:00Z",
        }
        for n in range(40)
    ]
    newest = _article("new", "A late ferry", "The ferry to Korea was late.")
    newest["published"] = "2014-06-01T00:00:00Z"
    with fresh_database(backend, tmp_path) as url, Tidings(url) as tidings:
        list(tidings.ingest([_write(tmp_path, "k.jsonl", [*older, newest])]))
        reader = tidings.add_reader("kim")
        saved = tidings.follow_search(reader.id, "korea")
        _, _, page = tidings.search_feed(tidings.feed_token(reader.id), saved.id, limit=10)
        assert page.hits[0].article.title == "A late ferry"


def test_source_names_match_whatever_their_letters(tidings: Tidings, tmp_path: Path) -> None:
    article = {
        **_article("at", "Seoul's mayor visits Vienna", "A visit."),
        "source": "Österreich Heute",
    }
    list(tidings.ingest([_write(tmp_path, "at.jsonl", [article])]))
    for typed in ("source:österreich visit", 'source:"ÖSTERREICH HEUTE" visit', "Seoul's"):
        assert [h.article.title for h in tidings.search(typed).hits] == [article["title"]], typed


def test_a_saved_search_can_be_dropped_with_the_generic_unfollow(tidings: Tidings) -> None:
    reader = tidings.add_reader("lee")
    tidings.follow_search(reader.id, "north  korea")
    assert tidings.unfollow(reader.id, "search:north korea") == "north korea"
    assert tidings.saved_searches(reader.id) == []


def test_titles_weigh_more_than_bodies(tidings: Tidings, tmp_path: Path) -> None:
    articles = [
        _article("body", "Harbour report", "The ferry was late again; the ferry is old."),
        _article("title", "Ferry late again", "Passengers waited at the harbour."),
    ]
    list(tidings.ingest([_write(tmp_path, "w.jsonl", articles)]))
    ranked = tidings.searcher.rank_articles("ferry", mode="words")
    titles = [tidings.article(i).title for i, _ in ranked]
    assert titles == ["Ferry late again", "Harbour report"]


# -- the re-rank, alone ----------------------------------------------------------------------


def test_fusion_rewards_what_both_rankings_agree_on() -> None:
    fused = fuse([1, 2, 3], [3, 4])
    assert max(fused, key=lambda i: fused[i]) == 3


def test_the_personal_re_rank_never_moves_the_best_textual_match_down() -> None:
    rows = [Row((n, 0), n, 1.0 / (60 + n)) for n in range(1, 6)]
    ordered = personalise(
        rows,
        followed=frozenset({"ukraine"}),
        source_affinity={},
        topics={2: ["ukraine"], 3: ["ukraine"], 4: ["ukraine"], 5: ["ukraine"]},
        best_textual=(1, 0),
    )
    assert ordered[0].key == (1, 0)
    assert [r.key[0] for r in ordered[1:]] == [2, 3, 4, 5]
    assert ordered[1].followed == "ukraine"
