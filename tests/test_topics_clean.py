"""Clean topics: outlets are sources, not topics; one thing has one name; fragments and bare
common words are not offered; onboarding lists each topic once; and the share of right
topics on a hand-labelled sample stays above its floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidings.evaluate import floors
from tidings.evaluate.entities import SEED_ID, EntityReport, evaluate_entities, sample_ids
from tidings.library import Tidings
from tidings.understand.entities import Entity, EntityExtractor, Mention, canonical_entities
from tidings.understand.outlets import outlet_keys
from tidings.understand.topic_aliases import Topic, distinct_topics

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "entity_precision_sample.json"


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def _names(extractor: EntityExtractor, text: str, source: str | None = None) -> list[str]:
    [entities] = extractor.extract([text], sources=[source])
    return [e.name for e in entities]


def test_outlets_and_agencies_are_not_topics(extractor: EntityExtractor) -> None:
    text = (
        "Angela Merkel arrived in Paris on Monday, the BBC reported. She told Reuters and "
        "the Associated Press (AP) that Germany would help; AFP, CNN, Xinhua and Al Jazeera "
        "carried the remarks, and KDKA-TV aired them. Merkel spoke to Wikinews later."
    )
    assert _names(extractor, text) == ["Angela Merkel", "Paris", "Germany"]
    # The store's own source names count as outlets too, feed-title decoration and all.
    local = "Merkel met the mayor, the Toowoomba Chronicle said. Angela Merkel left Paris."
    assert "Toowoomba Chronicle" in _names(extractor, local)
    assert "Toowoomba Chronicle" not in _names(
        extractor, local, source="Toowoomba Chronicle - Local news"
    )
    assert outlet_keys(["BBC News - World", None, " "]) == {"bbc news world", "bbc news"}


def test_aliases_of_one_thing_merge_into_one_topic(extractor: EntityExtractor) -> None:
    bush = "President Bush met reporters. George W. Bush said Iraq was safer. Bush left."
    assert _names(extractor, bush)[0] == "George W. Bush"
    assert "Bush" not in _names(extractor, bush)

    korea = "N. Korea fired a missile on Monday. North Korea said the test was routine."
    assert _names(extractor, korea) == ["North Korea"]

    ilo = (
        "The International Labor Organization (ILO) said wages fell. The ILO report covers "
        "190 countries."
    )
    [entities] = extractor.extract([ilo])
    assert entities == [Entity("International Labor Organization", "organisation", 2)]

    parties = "Democrats won the House. A Democratic senator said the Democratic Party would act."
    [entities] = extractor.extract([parties])
    assert entities == [Entity("Democratic Party", "organisation", 3)]
    # In an article about the Liberal Democrats, a bare "Democrat" is one of theirs.
    libdem = "Craig Farquharson of the Liberal Democrats spoke. As a Liberal Democrat he won."
    assert "Democratic Party" not in _names(extractor, libdem)

    guy = "Richard Kenneth Guy died. Richard K. Guy was 103. Richard Guy taught at Calgary."
    assert _names(extractor, guy) == ["Richard Kenneth Guy", "Calgary"]


def test_fragments_and_bare_common_words_are_dropped() -> None:
    mentions = [
        Mention("International Labor Organization (ILO", "ORG", 0, 5),
        Mention("North", "LOC", 10, 1),
        Mention("South", "LOC", 20, 1),
        Mention("State", "ORG", 30, 1),
        Mention("State of", "ORG", 40, 2),
        Mention('Matiu "Matt', "PERSON", 50, 3),
        Mention("Cosmonaut", "PERSON", 60, 1),
        Mention("an International Space Station", "FAC", 70, 4),
        Mention("Conservative Party - 365", "ORG", 80, 4),
        Mention("Kama Melly QC", "PERSON", 90, 3),
    ]
    assert [e.name for e in canonical_entities(mentions)] == [
        "International Labor Organization",
        "International Space Station",
        "Conservative Party",
        "Kama Melly",
    ]


def test_onboarding_offers_each_topic_once() -> None:
    found = [
        Topic("united-states", "United States", "place", 90),
        Topic("george-w-bush", "George W. Bush", "person", 40),
        Topic("democratic", "Democratic", "organisation", 35),
        Topic("bbc", "BBC", "organisation", 30),
        Topic("democratic-party", "Democratic Party", "organisation", 30),
        Topic("bush", "Bush", "person", 25),
        Topic("united-states", "united states", "place", 20),
        Topic("world-health-organization", "World Health Organization", "organisation", 12),
        Topic("who", "WHO", "organisation", 11),
        Topic("wikinews", "Wikinews", "organisation", 10),
        Topic("state", "State", "organisation", 9),
        Topic("north-korea", "North Korea", "place", 8),
        Topic("n-korea", "N. Korea", "place", 3),
    ]
    shown = distinct_topics(found, limit=10)
    assert [(t.name, t.articles) for t in shown] == [
        ("United States", 110),
        ("George W. Bush", 65),
        ("Democratic", 65),
        ("World Health Organization", 23),
        ("North Korea", 11),
    ]
    assert [t.name for t in distinct_topics(found, limit=2)] == ["United States", "George W. Bush"]


def test_a_store_offers_each_topic_once_without_outlets(tidings: Tidings, tmp_path: Path) -> None:
    rows = [
        {
            "title": f"Story {i}",
            "text": text,
            "url": f"https://example.org/{i}",
            "published": f"2020-01-0{i + 1}",
            "source": "Example Times",
        }
        for i, text in enumerate(
            [
                "George W. Bush visited Texas, the BBC reported. Bush spoke in Austin.",
                "President Bush said Texas would recover. Reuters and the Example Times reported.",
                "N. Korea tested a missile, North Korea said. The BBC said Seoul protested.",
                "North Korea tested another missile. Seoul and Texas officials reacted.",
            ]
        )
    ]
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    list(tidings.ingest([str(path)]))
    tidings.understand()
    names = [name for _, name, _ in tidings.popular_topics(20)]
    assert "BBC" not in names and "Reuters" not in names and "Example Times" not in names
    assert "N. Korea" not in names and "Bush" not in names
    assert {"George W. Bush", "North Korea", "Texas", "Seoul"} <= set(names)
    assert len({n.casefold() for n in names}) == len(names)


# --- the eval gate: entity precision on the labelled sample ---------------------------------


@pytest.fixture(scope="module")
def entity_report(shared: Path, extractor: EntityExtractor) -> EntityReport:
    return evaluate_entities(shared, SAMPLE, extractor)


def test_the_labelled_sample_is_the_one_the_pipeline_picks(shared: Path) -> None:
    labels = json.loads(SAMPLE.read_text(encoding="utf-8"))["articles"]
    assert list(labels) == [SEED_ID, *sample_ids(shared)]


def test_entity_precision_stays_above_its_floor(entity_report: EntityReport) -> None:
    report = entity_report
    assert report.articles == 26 and report.found >= 200, report.summary()
    # Every name found is labelled: a change that finds new names must label them to score.
    assert report.unlabelled == [], report.unlabelled
    assert report.precision >= floors.ENTITY_PRECISION, report.summary()


# --- the eval gate: NER on the lead and known names after it keep each article's top topics --


def test_top_entities_survive_reading_only_the_lead_with_ner(extractor: EntityExtractor) -> None:
    from tidings.evaluate.entities import (
        RECALL_ARTICLES,
        demo_known_names,
        demo_sample,
        evaluate_top_recall,
    )

    articles = demo_sample()
    report = evaluate_top_recall(articles, demo_known_names(articles), extractor=extractor)
    assert report.articles == RECALL_ARTICLES and report.wanted >= 4 * RECALL_ARTICLES
    assert report.ner_chars < report.chars, report.summary()  # NER skipped part of the text
    assert report.recall >= floors.TOP5_ENTITY_RECALL, (report.summary(), report.missed[:20])
