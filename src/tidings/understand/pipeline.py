"""Understanding stored articles in batches: entities, section, embedding, key points, story.

Each batch is read, understood in memory (the models run on whole batches), then written in
one transaction, so an interrupted run leaves every article either understood or pending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import Connection, Engine

from tidings.store import stories as story_store
from tidings.store import understanding as store
from tidings.stories.similarity import (
    WINDOW,
    StoryFeatures,
    choose_story,
    entity_keys,
    lead_key,
    story_features,
)
from tidings.understand.embeddings import Embedder, article_text, default_embedder
from tidings.understand.entities import EntityExtractor, default_extractor
from tidings.understand.keypoints import key_points
from tidings.understand.sections import SectionClassifier

log = logging.getLogger(__name__)

BATCH_SIZE = 64
# Entities are looked for in the first part of long articles only: who and where a story is
# about is named early, and NER time grows with length.
MAX_ENTITY_CHARS = 10_000

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class UnderstandReport:
    articles: int = 0
    stories_started: int = 0
    stories_joined: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "articles": self.articles,
            "stories_started": self.stories_started,
            "stories_joined": self.stories_joined,
            "seconds": round(self.seconds, 2),
            "articles_per_second": round(self.articles / self.seconds, 1) if self.seconds else None,
            "warnings": self.warnings,
        }


class Understander:
    """The models, loaded once and reused for every batch."""

    def __init__(
        self,
        *,
        embedder: Embedder | None = None,
        extractor: EntityExtractor | None = None,
    ) -> None:
        self._embedder = embedder
        self._extractor = extractor

    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or default_embedder()

    @cached_property
    def extractor(self) -> EntityExtractor:
        return self._extractor or default_extractor()

    @cached_property
    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-embed")

    @cached_property
    def sections(self) -> SectionClassifier:
        return SectionClassifier(self.embedder)

    def run(
        self,
        engine: Engine,
        *,
        everything: bool = False,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
    ) -> UnderstandReport:
        """Understand every pending article (every article with ``everything``)."""
        started = time.perf_counter()
        report = UnderstandReport()
        with engine.connect() as connection:
            total = store.count_pending(connection, everything=everything)
        if progress:
            progress(0, total)  # a count before the first batch, not "0/?"
        after_id = 0
        while True:
            with engine.connect() as connection:
                batch = store.pending(
                    connection, everything=everything, after_id=after_id, limit=batch_size
                )
            if not batch:
                break
            after_id = batch[-1].id
            understood = self._understand(batch, report)
            with engine.begin() as connection:
                now = datetime.now(UTC)
                store.save_many(
                    connection, [(a.id, r) for a, r in zip(batch, understood, strict=True)], now=now
                )
                self._group(connection, batch, understood, report, now)
            report.articles += len(batch)
            if progress:
                progress(report.articles, total)
        report.seconds = time.perf_counter() - started
        return report

    def _understand(
        self, batch: list[store.Pending], report: UnderstandReport
    ) -> list[store.Understood]:
        entity_texts = [_entity_text(a)[:MAX_ENTITY_CHARS] for a in batch]
        # ONNX Runtime releases the GIL: the embedding runs on one core while spaCy's NER
        # runs on the other, instead of one after the other.
        embedding = self._pool.submit(
            self.embedder.embed, [article_text(a.title, a.paragraphs) for a in batch]
        )
        entities = self.extractor.extract(entity_texts, sources=[a.source for a in batch])
        vectors = embedding.result()
        empty = [not (a.title.strip() or any(p.strip() for p in a.paragraphs)) for a in batch]
        sections = self.sections.classify(
            vectors, labels=[a.labels for a in batch], texts_empty=empty
        )
        results = []
        for article, found, vector, section, is_empty in zip(
            batch, entities, vectors, sections, empty, strict=True
        ):
            if is_empty:
                _warn(report, f"article {article.id}: no text; given the fallback section")
            elif not found:
                log.info("article %s: no entities found", article.id)
            results.append(
                store.Understood(
                    entities=[(e.name, e.kind, e.mentions) for e in found],
                    section=(section.id, section.name, section.confidence),
                    vector=vector,
                    model=self.embedder.name,
                    extracted_key_points=(
                        None
                        if article.key_points
                        else key_points(article.title, article.paragraphs)
                    ),
                )
            )
        return results

    def _group(
        self,
        connection: Connection,
        batch: list[store.Pending],
        understood: list[store.Understood],
        report: UnderstandReport,
        now: datetime,
    ) -> None:
        """Put each article of the batch in a story: join the best match or start one.

        An article that already has a story keeps it, so story ids stay stable.
        """
        times = [a.when for a in batch]
        members = store.members_between(connection, min(times) - WINDOW, max(times) + WINDOW)
        # Each member's features once per batch, not once per article compared with it; its
        # lead is its heaviest entity (names come heaviest first).
        heaviest = store.topic_names(connection, [m.article_id for m in members], origin="entity")
        known = {
            m.article_id: StoryFeatures(
                m.vector,
                entity_keys(m.entities),
                m.when,
                lead=lead_key(heaviest.get(m.article_id, ())),
            )
            for m in members
        }
        touched: set[int] = set()
        for article, result in zip(batch, understood, strict=True):
            if article.story_id is not None:
                continue
            names = frozenset(name for name, _, _ in result.entities)
            mentions = [(name, count) for name, _, count in result.entities]
            features = story_features(result.vector, mentions, article.when)
            near = [
                (m.story_id, known[m.article_id])
                for m in members
                if abs(m.when - article.when) <= WINDOW
            ]
            story_id = choose_story(features, near)
            if story_id is None:
                story_id = story_store.start(connection, article.id, article.title, now=now)
                report.stories_started += 1
            else:
                story_store.join(connection, article.id, story_id)
                report.stories_joined += 1
            touched.add(story_id)
            members.append(
                store.Member(
                    article.id, story_id, result.vector, names, article.when, article.source
                )
            )
            known[article.id] = features
        story_store.refresh(connection, touched, now=now)


def _entity_text(article: store.Pending) -> str:
    parts = [article.title, *article.key_points, *article.paragraphs]
    if article.image_caption:
        parts.append(article.image_caption)
    return "\n\n".join(p for p in parts if p)


def _warn(report: UnderstandReport, message: str) -> None:
    log.warning(message)
    report.warnings.append(message)
