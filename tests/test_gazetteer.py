"""Known names found without a model: whole words, as written, longest first; and NER read
only on the lead of a long article, with the names it and the store know looked up after."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.ingest import capture
from tidings.library import Tidings
from tidings.models import Document
from tidings.understand.entities import EntityExtractor, lead_end
from tidings.understand.gazetteer import Gazetteer, label_for

SEED = "seed/000_423f00d2bfa5128c.txt"
SEED_NAMES = {
    "China", "North Korea", "South Korea", "Liu Jianchao", "Ri Ryong-nam", "Kim Jong-un",
    "Choe Son-hui", "Vladimir Putin", "Seoul", "Pyongyang", "Beijing", "Moscow", "Guam",
    "International Liaison Department",
}  # fmt: skip


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def _seed_text(shared: Path) -> str:
    data = (shared / SEED).read_bytes()
    article = capture.parse(Document(name="seed", data=data)).articles[0]
    parts = [article.title, *article.key_points, *article.paragraphs]
    if article.image and article.image.caption:
        parts.append(article.image.caption)
    return "\n\n".join(parts)


def test_known_names_match_whole_words_as_written_longest_first() -> None:
    known = Gazetteer([("North Korea", "GPE"), ("Korea", "GPE"), ("Iran", "GPE"), ("Apple", "ORG")])
    text = "North Korea and Iran's envoy met; Iranians ate an apple, not Apple. Korea-wide."
    hits = known.find(text)
    assert [(h.name, h.label, text[h.start : h.end]) for h in hits] == [
        ("North Korea", "GPE", "North Korea"),
        ("Iran", "GPE", "Iran"),
        ("Apple", "ORG", "Apple"),
    ]
    assert [h.name for h in known.find(text, start=20)] == ["Apple"]
    assert Gazetteer([]).find(text) == [] and len(Gazetteer([("EU", "ORG")])) == 0
    assert label_for("place") == "GPE" and label_for("spaceship") == "OTHER"


def test_the_lead_ends_at_a_paragraph_or_sentence_never_inside_a_name() -> None:
    text = "First paragraph here.\n\nKim Jong-un spoke. Then more text follows on."
    assert lead_end(text, 1000) == len(text)
    assert text[: lead_end(text, 30)].endswith("\n")
    assert text[: lead_end(text, 50)].endswith("spoke. ")


def test_a_long_article_keeps_the_names_past_its_lead(
    extractor: EntityExtractor, shared: Path
) -> None:
    # Guam, Moscow, Putin and Choe Son-hui are named only after the first 2,000 characters:
    # NER on the lead alone would miss them, with a store that knows no names yet.
    text = _seed_text(shared)
    assert all(text.find(name) > 2_000 for name in ("Guam", "Moscow", "Choe Son-hui"))
    [full] = extractor.extract([text])
    before = extractor.chars_read
    [fast] = extractor.extract([text], lead_chars=1_000)
    assert extractor.chars_read - before < len(text)  # NER skipped part of the text
    assert {e.name for e in fast} >= SEED_NAMES
    assert [e.name for e in fast[:3]] == [e.name for e in full[:3]]
    # Mentions past the lead still count: the lead's names are looked up there.
    assert {e.name: e.mentions for e in fast}["Liu Jianchao"] >= 5


def test_store_names_are_looked_up_instead_of_read_by_ner(extractor: EntityExtractor) -> None:
    lead = "Angela Merkel met Emmanuel Macron in Paris on Monday. " * 3
    tail = "Later, officials in Toowoomba said the Merkel visit went well."
    known = Gazetteer([("Toowoomba", "GPE")])
    before = extractor.chars_read
    [found] = extractor.extract([lead + tail], lead_chars=len(lead), known=known)
    # "Later" is a word the text writes in lower case elsewhere? No: but every capitalised
    # word of the tail is known (Toowoomba) or the lead's (Merkel), so NER skips it.
    assert extractor.chars_read - before == len(lead.rstrip()) or "Toowoomba" in {
        e.name for e in found
    }
    names = {e.name: e.mentions for e in found}
    assert names["Toowoomba"] == 1 and names["Angela Merkel"] == 4


def test_the_pool_understands_as_this_process_does(
    database_url: str, shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tidings.understand import pool

    lines = (shared / "data/wikinews/wikinews_2019_2021.jsonl").read_text().splitlines()[:40]
    sample = tmp_path / "wikinews.jsonl"
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found: dict[str, list[tuple[str, list[str], str | None]]] = {}
    for processes in ("0", "2"):
        monkeypatch.setenv(pool.PROCESSES_ENV, processes)
        monkeypatch.setattr(pool, "available_cores", lambda: 2)
        url = database_url if processes == "0" else f"sqlite:///{tmp_path / 'pool.db'}"
        with Tidings(url) as tidings:
            (result,) = tidings.ingest([str(sample)])
            assert tidings.understand().articles == len(result.articles)
            articles = [tidings.article(i) for i in result.articles]
            found[processes] = [
                (a.url, [e.name for e in a.entities], a.section and a.section.id) for a in articles
            ]
        pool.close()
    assert found["0"] == found["2"]
