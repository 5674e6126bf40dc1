"""Entity precision: of the topics tidings finds in an article, the share a reader could follow.

The sample is fixed: the seed page capture and ``SAMPLE_ARTICLES`` English Wikinews articles
of 2019–2021 (every one of them is in the demo pack), picked by ``crc32(id)`` among the short
ones whose export kept no wiki-markup. Each is read by the ingest parsers and its entities
found exactly as the understand pipeline does (title, key points, paragraphs, caption; the
first ``MAX_ENTITY_CHARS`` characters; the article's own source is not a topic).

A labelled sample (a JSON file) says, per article, which entity names are topics a reader
could follow (``correct``) and which are not (``incorrect``: an outlet, a fragment, a
common word, a mislabelled thing). A name the pipeline finds that the labels do not know
counts as incorrect, so a change that yields new names must have them labelled to score.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tidings.ingest.pipeline import parse
from tidings.models import Document, ParsedArticle
from tidings.store.understanding import Pending
from tidings.understand.entities import Entity, EntityExtractor, default_extractor
from tidings.understand.pipeline import MAX_ENTITY_CHARS, _entity_text

WIKINEWS_FILE = Path("data") / "wikinews" / "wikinews_2019_2021.jsonl"
SEED_FILE = Path("seed") / "000_423f00d2bfa5128c.txt"
SEED_ID = "seed:000_423f00d2bfa5128c"
SAMPLE_ARTICLES = 25
# Short articles keep the sample to a size one person can label in one sitting.
MIN_CHARS, MAX_CHARS = 500, 1_200
_MARKUP = ("<", "{{", "[[", "|")
_NAMESPACE = re.compile(r"^[^:\s][^:]*:\S")  # "TEST PAGE:Self-publish today": not news


@dataclass(frozen=True, slots=True)
class EntityReport:
    """Entity precision over the labelled sample."""

    articles: int
    found: int  # entity occurrences the pipeline produced (one per article and name)
    correct: int  # of those, labelled as a topic a reader could follow
    unlabelled: list[tuple[str, str]] = field(default_factory=list)  # (article, name)
    wrong: list[tuple[str, str]] = field(default_factory=list)  # labelled incorrect

    @property
    def precision(self) -> float:
        return self.correct / self.found if self.found else 0.0

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"{self.articles} articles, {self.found} entities found, {self.correct} correct: "
            f"precision {self.precision:.3f} ({len(self.wrong)} labelled wrong, "
            f"{len(self.unlabelled)} unlabelled)"
        )


def sample_ids(shared: Path, count: int = SAMPLE_ARTICLES) -> list[str]:
    """The Wikinews ids of the sample, in ``crc32(id)`` order."""
    rows = _wikinews_rows(shared)
    fit = [
        r["id"]
        for r in rows.values()
        if MIN_CHARS <= len(r.get("text") or "") <= MAX_CHARS
        and not any(m in r["text"] for m in _MARKUP)
        and not _NAMESPACE.match(r["title"])
    ]
    return sorted(fit, key=lambda i: zlib.crc32(i.encode("utf-8")))[:count]


def _wikinews_rows(shared: Path) -> dict[str, dict[str, str]]:
    with (shared / WIKINEWS_FILE).open(encoding="utf-8") as handle:
        rows = (json.loads(line) for line in handle if line.strip())
        return {r["id"]: r for r in rows}


def sample_articles(shared: Path, ids: Sequence[str]) -> dict[str, ParsedArticle]:
    """The seed (as ``SEED_ID``) and the Wikinews articles ``ids``, parsed as ingest would."""
    rows = _wikinews_rows(shared)
    lines = "\n".join(json.dumps(rows[i] | {"source": "Wikinews"}) for i in ids)
    _, parsed = parse(Document(name="sample.jsonl", data=lines.encode("utf-8")), "jsonl")
    articles = dict(zip(ids, parsed.articles, strict=True))
    seed = shared / SEED_FILE
    _, captured = parse(Document(name=seed.name, data=seed.read_bytes()), "capture")
    return {SEED_ID: captured.articles[0], **articles}


def pipeline_text(article: ParsedArticle) -> str:
    """The text the understand pipeline looks for entities in."""
    pending = Pending(
        id=0,
        title=article.title,
        paragraphs=article.paragraphs,
        key_points=article.key_points,
        image_caption=article.image.caption if article.image else None,
        labels=article.labels,
        when=article.published or datetime.now(UTC),
        source=article.source,
        story_id=None,
    )
    return _entity_text(pending)[:MAX_ENTITY_CHARS]


def sample_entities(
    shared: Path, ids: Sequence[str], extractor: EntityExtractor | None = None
) -> dict[str, list[Entity]]:
    """What the pipeline finds in each sample article, keyed as the labels are."""
    articles = sample_articles(shared, ids)
    found = (extractor or default_extractor()).extract(
        [pipeline_text(a) for a in articles.values()],
        sources=[a.source for a in articles.values()],
    )
    return dict(zip(articles, found, strict=True))


def load_labels(path: Path) -> dict[str, dict[str, bool]]:
    """``{article: {name: correct}}`` from a labelled sample file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    labels: dict[str, dict[str, bool]] = {}
    for key, entry in data["articles"].items():
        names = {n: True for n in entry.get("correct", [])}
        names.update({n: False for n in entry.get("incorrect", [])})
        labels[key] = names
    return labels


def evaluate_entities(
    shared: Path, labels_path: Path, extractor: EntityExtractor | None = None
) -> EntityReport:
    """Entity precision of the pipeline on the labelled sample."""
    labels = load_labels(labels_path)
    ids = [key for key in labels if key != SEED_ID]
    found = sample_entities(shared, ids, extractor)
    correct = 0
    wrong: list[tuple[str, str]] = []
    unlabelled: list[tuple[str, str]] = []
    for key, entities in found.items():
        for entity in entities:
            label = labels[key].get(entity.name)
            if label:
                correct += 1
            elif label is None:
                unlabelled.append((key, entity.name))
            else:
                wrong.append((key, entity.name))
    return EntityReport(
        articles=len(found),
        found=sum(len(e) for e in found.values()),
        correct=correct,
        unlabelled=unlabelled,
        wrong=wrong,
    )
