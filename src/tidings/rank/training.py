"""``tidings train``: learn the scorer from the impressions readers were shown.

Each feed request is replayed: the reader's state just before it (their events up to then),
the stories it showed as candidates, and as label whether they then opened, saved or shared
the story. Popularity for a training row is counted out of fold — from readers in the other
folds only, rescaled — so a row never sees its own click. The newest fifth of requests is
held back to compare the learned scorer with the prior before it is saved.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, insert

from tidings.errors import TidingsError
from tidings.rank import profile
from tidings.rank.features import Candidates, features
from tidings.rank.scorer import PRIOR, Kind, Scorer, fit
from tidings.rank.signals import CLICKS, Event
from tidings.rank.signals import Kind as EventKind
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store.schema import scorers

MAX_REQUESTS = 20_000  # the newest feed requests replayed
MIN_REQUESTS = 20  # requests with both a click and a miss needed to learn anything
CLICK_WINDOW = timedelta(days=2)  # a click this soon after the impression is its label
FOLDS = 5

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class TrainReport:
    kind: str
    requests: int
    rows: int
    clicks: int
    seconds: float
    auc: dict[str, float] = field(default_factory=dict)  # held-out AUC: learned vs. prior
    saved: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "requests": self.requests,
            "rows": self.rows,
            "clicks": self.clicks,
            "seconds": round(self.seconds, 2),
            "held_out_auc": {k: round(v, 4) for k, v in self.auc.items()},
            "saved": self.saved,
        }


def train(
    engine: Engine, *, kind: Kind = "lightgbm", progress: Progress | None = None
) -> TrainReport:
    started = time.perf_counter()
    with engine.connect() as connection:
        requests = event_store.newest_requests(connection, MAX_REQUESTS)
        log = event_store.of_readers(connection, sorted({reader for _, reader in requests}))
        wanted_requests = {request for request, _ in requests}
        shown_stories = {
            e.story_id
            for entries in log.values()
            for e in entries
            if e.request in wanted_requests and e.story_id is not None
        }
        stories = {s.story_id: s for s in candidate_store.load(connection, sorted(shown_stories))}
        read_ids = {
            e.article_id
            for entries in log.values()
            for e in entries
            if e.article_id is not None and e.kind is not EventKind.IMPRESSION
        }
        read = candidate_store.read_articles(connection, sorted(read_ids))
        popularity = event_store.popularity_by_fold(connection, FOLDS)
    newest_story = max((s.when for s in stories.values() if s.when), default=None)

    # Built once, not per request: what every replayed profile and candidate list reads.
    fold_counts = [_other_folds(popularity, fold) for fold in range(FOLDS)]
    history = _History(
        vectors={i: a.vector for i, a in read.items() if a.vector is not None},
        topics={i: a.topics for i, a in read.items()},
        sources={i: a.source for i, a in read.items()},
    )
    matrices: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    groups: list[int] = []
    order: list[datetime] = []
    done = 0
    for reader_id, entries in log.items():
        fold = reader_id % FOLDS
        counts = fold_counts[fold]
        clicks_after = _clicks(entries)
        state = profile.ReaderState()
        shown: list[tuple[datetime, int]] = []  # (when, story) of every impression so far
        i = 0
        while i < len(entries):
            e = entries[i]
            if e.kind is EventKind.IMPRESSION and e.story_id is not None:
                shown.append((e.created, e.story_id))
            if e.kind is EventKind.IMPRESSION and e.request in wanted_requests:
                end = i
                while end < len(entries) and entries[end].request == e.request:
                    end += 1
                batch = entries[i:end]
                shown.extend((x.created, x.story_id) for x in batch[1:] if x.story_id is not None)
                # "seen" as the live feed counted it when this request was served
                state.seen = profile.seen_before_visit(shown, e.created)
                row = _rows(batch, state, stories, history, counts, clicks_after, newest_story)
                if row is not None:
                    matrices.append(row[0])
                    labels.append(row[1])
                    groups.append(len(row[1]))
                    order.append(e.created)
                for x in batch:
                    profile.apply(state, x)
                i = end
                done += 1
                if progress and done % 200 == 0:
                    progress(done, len(requests))
                continue
            profile.apply(state, e)
            i += 1
    useful = [n for n, y in enumerate(labels) if 0 < y.sum() < len(y)]
    if len(useful) < MIN_REQUESTS:
        raise TidingsError(
            f"not enough to learn from: {len(useful)} feed requests with both a click and a "
            f"miss (need {MIN_REQUESTS}); the feed keeps its prior scorer"
        )
    useful.sort(key=lambda n: order[n])
    cut = int(len(useful) * 0.8)
    learn, held = useful[:cut], useful[cut:]
    report = TrainReport(
        kind=kind,
        requests=len(useful),
        rows=sum(groups[n] for n in useful),
        clicks=int(sum(labels[n].sum() for n in useful)),
        seconds=0.0,
    )
    if held:
        scorer = _fit(matrices, labels, groups, learn, kind)
        report.auc = {
            "learned": _mean_auc(scorer, matrices, labels, held),
            "prior": _mean_auc(PRIOR, matrices, labels, held),
        }
    final = _fit(matrices, labels, groups, useful, kind)
    with engine.begin() as connection:
        connection.execute(
            insert(scorers).values(
                kind=kind,
                model=json.dumps(final.to_dict()),
                metrics=report.to_dict(),
                created_at=datetime.now(UTC),
            )
        )
    report.saved = True
    report.seconds = time.perf_counter() - started
    if progress:
        progress(len(requests), len(requests))
    return report


@dataclass(frozen=True, slots=True)
class _History:
    """Embeddings, topic keys and sources of every article the replayed readers acted on."""

    vectors: dict[int, np.ndarray]
    topics: dict[int, list[str]]
    sources: dict[int, str | None]


def _other_folds(
    popularity: dict[int, dict[int, list[int]]], fold: int
) -> dict[int, tuple[float, float]]:
    """Counts from every fold but ``fold``, scaled up to the size of the whole."""
    scale = FOLDS / (FOLDS - 1)
    total: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for f, stories in popularity.items():
        if f == fold:
            continue
        for story, (c, n) in stories.items():
            total[story][0] += c * scale
            total[story][1] += n * scale
    return {story: (c, n) for story, (c, n) in total.items()}


def _clicks(entries: list[Event]) -> dict[int, list[datetime]]:
    """story → times the reader clicked it."""
    out: dict[int, list[datetime]] = defaultdict(list)
    for e in entries:
        if e.kind in CLICKS and e.story_id is not None:
            out[e.story_id].append(e.created)
    return out


def _rows(
    batch: list[Event],
    state: profile.ReaderState,
    stories: dict[int, Any],
    history: _History,
    counts: dict[int, tuple[float, float]],
    clicks_after: dict[int, list[datetime]],
    newest_story: datetime | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    pairs = [(stories[e.story_id], e.article_id) for e in batch if e.story_id in stories]
    shown = [s for s, _ in pairs]
    if len(shown) < 2:
        return None
    when = batch[0].created
    clock = min(when, newest_story) if newest_story else when
    reader_profile = profile.profile(
        state,
        now=when,
        vectors=history.vectors,
        topics=history.topics,
        sources=history.sources,
    )
    dim = next((len(s.vector) for s in shown if s.vector is not None), 0)
    vectors = np.zeros((len(shown), dim), dtype=np.float32)
    for n, s in enumerate(shown):
        if s.vector is not None and len(s.vector) == dim:
            vectors[n] = s.vector
    popular = [counts.get(s.story_id, (0.0, 0.0)) for s in shown]
    candidates = Candidates(
        ids=[s.story_id for s in shown],
        vectors=vectors,
        topics=[s.topics for s in shown],
        sources=[dict(s.articles).get(a) for s, a in pairs],
        age_hours=np.array(
            [(clock - s.when).total_seconds() / 3600 if s.when else np.nan for s in shown]
        ),
        clicks=np.array([c for c, _ in popular]),
        impressions=np.array([n for _, n in popular]),
        outlets=np.array([s.outlets for s in shown], dtype=np.float64),
    )
    labels = np.array(
        [
            any(when <= t <= when + CLICK_WINDOW for t in clicks_after.get(s.story_id, ()))
            for s in shown
        ],
        dtype=np.int8,
    )
    return features(reader_profile, candidates), labels


def _fit(
    matrices: list[np.ndarray],
    labels: list[np.ndarray],
    groups: list[int],
    chosen: list[int],
    kind: Kind,
) -> Scorer:
    return fit(
        np.vstack([matrices[n] for n in chosen]),
        np.concatenate([labels[n] for n in chosen]),
        [groups[n] for n in chosen],
        kind=kind,
    )


def _mean_auc(
    scorer: Scorer, matrices: list[np.ndarray], labels: list[np.ndarray], chosen: list[int]
) -> float:
    from sklearn.metrics import roc_auc_score

    return float(np.mean([roc_auc_score(labels[n], scorer.score(matrices[n])) for n in chosen]))
