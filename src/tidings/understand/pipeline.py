"""Understanding stored articles in batches: entities, section, embedding, key points, story.

Each batch is read, understood in memory (the models run on whole batches), then written in
one transaction, so an interrupted run leaves every article either understood or pending.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
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
from tidings.understand import pool
from tidings.understand.embeddings import Embedder, article_text, default_embedder
from tidings.understand.entities import EntityExtractor, default_extractor
from tidings.understand.gazetteer import Gazetteer, label_for
from tidings.understand.keypoints import key_points
from tidings.understand.sections import SectionClassifier

log = logging.getLogger(__name__)

BATCH_SIZE = 64
# Entities are looked for in the first part of long articles only: who and where a story is
# about is named early, and NER time grows with length.
MAX_ENTITY_CHARS = 10_000
# NER reads this much of the lead; after it, names the lead or the store already knows are
# looked up, and NER reads only sentences with a capitalised word nobody knows yet.
LEAD_CHARS = 1_500
# Known names: entities of at least this many stored articles, reloaded every so many batches.
KNOWN_MIN_ARTICLES = 2
KNOWN_REFRESH_BATCHES = 20

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
        fast: bool | None = None,
    ) -> None:
        self._embedder = embedder
        self._extractor = extractor
        # The fast path (NER on the lead, known names after it, a pool of processes) is for
        # the default models: given models stay in this process and read the whole text.
        self.fast = fast if fast is not None else embedder is None and extractor is None
        self._known: pool.Known | None = None
        self._folder: Path | None = None
        self._batches = 0

    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or default_embedder()

    @cached_property
    def extractor(self) -> EntityExtractor:
        return self._extractor or default_extractor()

    @cached_property
    def _threads(self) -> ThreadPoolExecutor:
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
        """Understand every pending article (every article with ``everything``). Batches are
        claimed under leases, as ``tidings work`` claims them, so that runs and workers in
        other processes share the articles instead of understanding them twice."""
        from tidings.understand.worker import Worker  # the worker builds on this module

        worker = Worker(self, engine, batch_size=batch_size)
        return worker.run_once(everything=everything, progress=progress)

    def process(self, engine: Engine, batch: list[store.Pending], report: UnderstandReport) -> None:
        """Understand one batch in memory, then store it and put its articles in stories in
        one transaction (so a batch is either wholly understood or wholly pending)."""
        if self.fast:
            self._refresh_known(engine)
        self._batches += 1
        understood = self._understand(batch, report)
        with engine.begin() as connection:
            now = datetime.now(UTC)
            store.save_many(
                connection, [(a.id, r) for a, r in zip(batch, understood, strict=True)], now=now
            )
            self._group(connection, batch, understood, report, now)
        report.articles += len(batch)

    def _understand(
        self, batch: list[store.Pending], report: UnderstandReport
    ) -> list[store.Understood]:
        work = [
            pool.Work(
                entity_text=_entity_text(a)[:MAX_ENTITY_CHARS],
                source=a.source,
                embed_text=article_text(a.title, a.paragraphs),
                title=a.title,
                paragraphs=a.paragraphs,
                needs_key_points=not a.key_points,
            )
            for a in batch
        ]
        lead = LEAD_CHARS if self.fast else None
        done = pool.understand_in_pool(work, self._known, lead) if self.fast else None
        if done is None:
            done = self._understand_here(work, lead)
        vectors = np.stack([d.vector for d in done]) if done else np.empty((0, 0))
        empty = [not (a.title.strip() or any(p.strip() for p in a.paragraphs)) for a in batch]
        sections = self.sections.classify(
            vectors, labels=[a.labels for a in batch], texts_empty=empty
        )
        results = []
        for article, result, section, is_empty in zip(batch, done, sections, empty, strict=True):
            if is_empty:
                _warn(report, f"article {article.id}: no text; given the fallback section")
            elif not result.entities:
                log.info("article %s: no entities found", article.id)
            results.append(
                store.Understood(
                    entities=[(e.name, e.kind, e.mentions) for e in result.entities],
                    section=(section.id, section.name, section.confidence),
                    vector=result.vector,
                    model=self.embedder.name,
                    extracted_key_points=result.key_points,
                )
            )
        return results

    def _understand_here(self, work: list[pool.Work], lead: int | None) -> list[pool.Done]:
        """In this process, the embedding in a thread: ONNX Runtime releases the GIL, so it
        runs on one core while spaCy's NER runs on the other."""
        known = self._known.gazetteer if self._known and lead is not None else None
        return pool.understand(
            work, self.extractor, self.embedder, known, lead, threads=self._threads
        )

    def _refresh_known(self, engine: Engine) -> None:
        """Reload the store's known names now and then: they grow as articles are understood."""
        if self._known is not None and self._batches % KNOWN_REFRESH_BATCHES:
            return
        with engine.connect() as connection:
            names = store.known_entity_names(connection, min_articles=KNOWN_MIN_ARTICLES)
        path = None
        if pool.processes() >= 2:  # only a pool's workers read the names from a file
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="tidings-known-"))
                weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
            path = pool.write_known(names, self._folder, self._batches)
        if self._known is not None and self._known.path is not None:
            self._known.path.unlink(missing_ok=True)
        self._known = pool.Known(Gazetteer((n, label_for(k)) for n, k in names), path)

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
                # Understood again: its story is refreshed, so the story's update time moves
                # and a feed's pool (which reloads only changed stories) sees its new topics.
                touched.add(article.story_id)
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


def _key_points(work: pool.Work) -> list[str] | None:
    return key_points(work.title, work.paragraphs) if work.needs_key_points else None


def _entity_text(article: store.Pending) -> str:
    parts = [article.title, *article.key_points, *article.paragraphs]
    if article.image_caption:
        parts.append(article.image_caption)
    return "\n\n".join(p for p in parts if p)


def _warn(report: UnderstandReport, message: str) -> None:
    log.warning(message)
    report.warnings.append(message)
