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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tidings.ingest.pipeline import parse
from tidings.models import Document, ParsedArticle
from tidings.store.understanding import Pending
from tidings.understand.entities import Entity, EntityExtractor, default_extractor
from tidings.understand.entity_names import merge_key
from tidings.understand.gazetteer import Gazetteer, label_for
from tidings.understand.pipeline import LEAD_CHARS, MAX_ENTITY_CHARS, _entity_text

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
    # The pipeline's way with a store that knows no names yet: NER on the lead, and after it
    # only where an unknown name may be (the sample's articles are shorter than the lead,
    # all but the seed).
    found = (extractor or default_extractor()).extract(
        [pipeline_text(a) for a in articles.values()],
        sources=[a.source for a in articles.values()],
        lead_chars=LEAD_CHARS,
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


# --- recall of the fast path: NER on the lead, known names after it -----------------------

RECALL_ARTICLES = 1000
TOP = 5


@dataclass(frozen=True, slots=True)
class RecallReport:
    """How many of each article's top entities by full-text NER the pipeline's way finds."""

    articles: int
    wanted: int  # (article, name) pairs among full-text NER's top entities
    found: int  # of those, found by the pipeline's way (anywhere in its list)
    ner_chars: int  # characters NER read the pipeline's way
    chars: int  # characters of the texts
    missed: list[tuple[str, str]] = field(default_factory=list)  # (article title, name)

    @property
    def recall(self) -> float:
        return self.found / self.wanted if self.wanted else 0.0

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"{self.articles} articles: top-{TOP} entity recall {self.recall:.3f} "
            f"({self.found}/{self.wanted}); NER read {self.ner_chars / max(self.chars, 1):.0%} "
            f"of the text"
        )


def demo_sample(count: int = RECALL_ARTICLES) -> list[ParsedArticle]:
    """The demo pack's Wikinews articles parsed as ingest would, the first ``count`` in
    ``crc32(url)`` order (a fixed sample spread over the pack's years)."""
    from tidings.demo import demo_document

    _, parsed = parse(demo_document(), "jsonl")
    ordered = sorted(parsed.articles, key=lambda a: zlib.crc32((a.url or "").encode("utf-8")))
    return ordered[:count]


def demo_known_names(leave_out: Sequence[ParsedArticle], min_articles: int = 2) -> Gazetteer:
    """A store's known names, as the pipeline's gazetteer takes them, from the demo pack's
    understanding of every article except ``leave_out`` (so no article finds names only
    it gave)."""
    from tidings.demo import understood
    from tidings.ingest.identity import canonical_url

    skip = {canonical_url(a.url) for a in leave_out if a.url}
    counts: Counter[tuple[str, str]] = Counter()
    for packed in understood.read():
        if packed.url not in skip:
            counts.update((name, kind) for name, kind, _ in packed.understood.entities)
    return Gazetteer(
        (name, label_for(kind)) for (name, kind), n in counts.most_common() if n >= min_articles
    )


def evaluate_top_recall(
    articles: Sequence[ParsedArticle],
    known: Gazetteer | None,
    *,
    extractor: EntityExtractor | None = None,
    lead_chars: int = LEAD_CHARS,
) -> RecallReport:
    """Top-``TOP`` entity recall of NER on the lead plus known names after it, against NER
    over the whole text (both cut at ``MAX_ENTITY_CHARS``, as the pipeline cuts)."""
    extractor = extractor or default_extractor()
    texts = [pipeline_text(a) for a in articles]
    sources = [a.source for a in articles]
    full = extractor.extract(texts, sources=sources)
    before = extractor.chars_read
    fast = extractor.extract(texts, sources=sources, lead_chars=lead_chars, known=known)
    ner_chars = extractor.chars_read - before
    wanted = found = 0
    missed: list[tuple[str, str]] = []
    for article, reference, quick in zip(articles, full, fast, strict=True):
        have = {merge_key(e.name) for e in quick}
        for entity in reference[:TOP]:
            wanted += 1
            if merge_key(entity.name) in have:
                found += 1
            else:
                missed.append((article.title, entity.name))
    return RecallReport(
        articles=len(articles),
        wanted=wanted,
        found=found,
        ner_chars=ner_chars,
        chars=sum(len(t) for t in texts),
        missed=missed,
    )
