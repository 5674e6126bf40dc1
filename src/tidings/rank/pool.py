"""The candidate pool every reader's feed starts from, shared by all readers of a process:
the newest stories, their embeddings as one matrix, their popularity, the per-story columns
the features take, and "now" as the corpus sees it."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from tidings.rank.features import TopicIncidence
from tidings.store.candidates import PoolStory

POOL_STORIES = 1000
POOL_SECONDS = 60.0
POPULARITY_WINDOW = timedelta(days=2)
FOLLOWED_STORIES = 40  # newest stories per followed topic, added to the pool

_versions = itertools.count(1)


def corpus_clock(stories: list[PoolStory], now: datetime) -> datetime:
    """ "Now" for freshness: the wall clock, or the newest *published* story when the store
    is an archive (the demo's newest news is from March 2014, and its last day must rank as
    fresh). Undated stories (no publication date) never set it: the day one was ingested is
    not the day it happened."""
    newest = max((s.when for s in stories if s.when is not None), default=None)
    return newest if newest is not None and newest < now else now


@dataclass(slots=True)
class Columns:
    """Per-story columns of a list of stories, as the features take them: computed once
    per pool for its stories (and per request only for stories outside it), so a request
    gathers arrays instead of looping over a thousand stories."""

    ids: np.ndarray
    age_hours: np.ndarray  # NaN when the time is unknown
    clicks: np.ndarray
    shown: np.ndarray
    outlets: np.ndarray
    starts: np.ndarray  # (n + 1,) where each story's topic codes begin in ``codes``
    codes: np.ndarray  # topic key codes (of the pool's code book), story after story

    @classmethod
    def of(cls, stories: list[PoolStory], pool: Pool) -> Columns:
        clock, popular = pool.clock, pool.popularity
        counts = [popular.get(s.story_id, (0, 0)) for s in stories]
        with pool.lock:  # the code book is shared and grows with followed-topic stories
            incidence = TopicIncidence.of([s.topics for s in stories], pool.codes)
        sizes = np.fromiter((len(s.topics) for s in stories), dtype=np.int64, count=len(stories))
        return cls(
            ids=np.fromiter((s.story_id for s in stories), dtype=np.int64, count=len(stories)),
            age_hours=np.array(
                [
                    (clock - s.when).total_seconds() / 3600 if s.when is not None else np.nan
                    for s in stories
                ],
                dtype=np.float64,
            ),
            clicks=np.array([c for c, _ in counts], dtype=np.float64),
            shown=np.array([n for _, n in counts], dtype=np.float64),
            outlets=np.array([s.outlets for s in stories], dtype=np.float64),
            starts=np.concatenate([[0], np.cumsum(sizes)]),
            codes=incidence.keys,
        )

    def __add__(self, other: Columns) -> Columns:
        return Columns(
            ids=np.concatenate([self.ids, other.ids]),
            age_hours=np.concatenate([self.age_hours, other.age_hours]),
            clicks=np.concatenate([self.clicks, other.clicks]),
            shown=np.concatenate([self.shown, other.shown]),
            outlets=np.concatenate([self.outlets, other.outlets]),
            starts=np.concatenate([self.starts[:-1], other.starts + self.starts[-1]]),
            codes=np.concatenate([self.codes, other.codes]),
        )

    def take(self, rows: np.ndarray) -> Columns:
        sizes = self.starts[rows + 1] - self.starts[rows]
        ends = np.cumsum(sizes)
        total = int(ends[-1]) if len(ends) else 0
        # every code of every chosen row, in row order: each row's start, then counting up
        gather = np.repeat(self.starts[rows] - (ends - sizes), sizes) + np.arange(total)
        return Columns(
            ids=self.ids[rows],
            age_hours=self.age_hours[rows],
            clicks=self.clicks[rows],
            shown=self.shown[rows],
            outlets=self.outlets[rows],
            starts=np.concatenate([[0], ends]),
            codes=self.codes[gather],
        )

    def rows_of_codes(self) -> np.ndarray:
        """The story (row) of each entry of ``codes``."""
        return np.repeat(np.arange(len(self.ids)), np.diff(self.starts))


@dataclass(slots=True)
class Pool:
    stories: list[PoolStory]
    vectors: np.ndarray
    popularity: dict[int, tuple[int, int]]
    clock: datetime  # "now" for freshness: see corpus_clock
    built: float
    # topic key → (when loaded, its newest stories)
    about: dict[str, tuple[float, list[PoolStory]]] = field(default_factory=dict)
    by_id: dict[int, PoolStory] = field(default_factory=dict)  # every story loaded so far

    # Which sources tell each pool story: (stories, sources) 0/1, so choosing the lead
    # source a reader likes best is one vectorised step, not a loop over articles.
    source_names: list[str] = field(default_factory=list)
    incidence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    row_of: dict[int, int] = field(default_factory=dict)  # story id → row in stories
    version: int = field(default_factory=lambda: next(_versions))  # part of a ranking's key
    stamps: dict[int, datetime] = field(default_factory=dict)  # story id → last updated
    codes: dict[str, int] = field(default_factory=dict)  # topic key → code (grows)
    lock: threading.Lock = field(default_factory=threading.Lock)
    columns: Columns | None = None
    mixed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        self.by_id.update((s.story_id, s) for s in self.stories)
        self.row_of = {s.story_id: row for row, s in enumerate(self.stories)}
        index: dict[str, int] = {}
        pairs = [
            (row, index.setdefault(src, len(index)))
            for row, story in enumerate(self.stories)
            for _, src in story.articles
            if src
        ]
        self.source_names = list(index)
        self.incidence = np.zeros((len(self.stories), len(index)), dtype=np.float32)
        for row, column in pairs:
            self.incidence[row, column] = 1.0
        self.mixed = np.array([s.mixed for s in self.stories], dtype=bool)
        self.columns = Columns.of(self.stories, self)


def matrix(stories: list[PoolStory], dim: int) -> np.ndarray:
    """The stories' lead embeddings as rows (zeros where one is missing)."""
    out = np.zeros((len(stories), dim), dtype=np.float32)
    for i, s in enumerate(stories):
        if s.vector is not None and len(s.vector) == dim:
            out[i] = s.vector
    return out
