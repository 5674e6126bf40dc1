"""Offline evaluation of the ranker on MIND click logs: does it put what readers clicked first?

A MIND folder holds ``behaviors.tsv`` (one impression a row: the reader's history and the
candidates shown, each marked clicked ``-1`` or not ``-0``) and ``news.tsv`` (the articles),
and may hold ``impression_meta.tsv`` (which candidate lists are complete, and whether a
history is in click order). Each impression is replayed the way the live feed ranks: the
reader's history becomes a :class:`~tidings.rank.features.Profile`, the candidates become
:class:`~tidings.rank.features.Candidates` (MIND category, subcategory and title entities as
topic keys; clicks and impressions counted from the *training* impressions as popularity),
:func:`~tidings.rank.features.features` makes the matrix and a scorer learned with
:func:`tidings.rank.scorer.fit` ranks it. Baselines are scored in the same run on the same
impressions: ``random`` (seeded), ``popularity`` (training clicks), ``content`` (embedding
similarity to the history), and, beside them, ``ctr`` (smoothed training click-through)
and ``prior`` (the hand-set cold-start weights).

Metrics follow MIND's own evaluation script, averaged over impressions: AUC, MRR, nDCG@5
and nDCG@10. Only complete candidate lists are scored (``impression_meta.tsv`` marks the
subsampled ones); impressions with only clicks or only non-clicks are skipped.

Splits, with no leakage from what is scored into what is learned:

* ``train_dir`` given: the scorer and the popularity counts learn from that log only, and
  every usable impression of ``test_dir`` is scored (MIND's train/dev convention).
* one log with times: the earliest impressions train, the latest are scored, and popularity
  counts only impressions before each one (as a live feed would know them).
* one log without times (the shared MIND sample): a seeded split by a hash of the impression
  id, a fifth held out; the report says so.

Popularity has two windows, as the live feed may: the whole training log, and a recent one.
Without times, "recent" weighs each training impression by how much its candidate list
overlaps the scored one's — lists are drawn from the stories on offer at the moment, so
alike lists were shown at about the same time. Training rows never see their own click:
their counts come from the other folds of the training impressions (rescaled to the size
of the whole), while scored rows count all of it. Settings (features, scorer parameters,
the overlap power) were chosen by cross-validation inside the training part of seed 0.

The parts of the replay stand beside this module, one concern each:
:mod:`~tidings.evaluate.mind_log` (reading a MIND folder),
:mod:`~tidings.evaluate.mind_popularity` (popularity without leaks),
:mod:`~tidings.evaluate.mind_features` (vectors, profiles, candidates, feature rows),
:mod:`~tidings.evaluate.mind_metrics` (MIND's metrics) and
:mod:`~tidings.evaluate.mind_report` (the report and its JSON, chart and tables).

MIND is under the Microsoft Research License Terms (non-commercial research): it is read from
where it lies for measurement, and the scorer learned here is thrown away, never shipped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tidings.errors import InputError
from tidings.evaluate.mind_features import Rows, build_rows, embed_texts
from tidings.evaluate.mind_log import META, Impression, NewsTable, read_log
from tidings.evaluate.mind_metrics import METRICS, impression_metrics
from tidings.evaluate.mind_popularity import (
    POPULARITY_FOLDS,
    RECENT_HOURS,
    RECENT_OVERLAP_POWER,
    bucket,
    hashed_popularity,
    timed_popularity,
)
from tidings.evaluate.mind_report import MethodScores, MindReport
from tidings.rank.features import FEATURES
from tidings.rank.scorer import PRIOR, Kind, Scorer, fit
from tidings.understand.embeddings import Embedder, default_embedder

__all__ = ["BASELINES", "METHODS", "TEST_FRACTION", "evaluate_mind", "split_log"]

#: Every method the report scores: the learned ranker first, then the baselines.
METHODS: tuple[str, ...] = ("tidings", "prior", "ctr", "popularity", "content", "random")
#: The baselines the ranker has to beat.
BASELINES: tuple[str, ...] = ("popularity", "content", "random")

#: Share of impressions scored when one log without times is split by a hash of their id.
TEST_FRACTION = 0.2

Progress = Callable[[str], None]


# --- Evaluation --------------------------------------------------------------------------------


def split_log(
    impressions: list[Impression], seed: int, test_fraction: float = TEST_FRACTION
) -> tuple[list[Impression], list[Impression], str]:
    """(train, held out, how): by time when every impression has one (the latest
    ``test_fraction`` held out, ``"time"``), else by a seeded hash of impression ids
    (``"hash"``)."""
    if impressions and all(i.time is not None for i in impressions):
        ordered = sorted(impressions, key=lambda i: (i.time, i.line))
        cut = max(1, round(len(ordered) * (1 - test_fraction)))
        return ordered[:cut], ordered[cut:], "time"
    test = [i for i in impressions if bucket(seed, "test", i.id) < test_fraction]
    train = [i for i in impressions if bucket(seed, "test", i.id) >= test_fraction]
    return train, test, "hash"


def evaluate_mind(
    test_dir: Path | str,
    *,
    train_dir: Path | str | None = None,
    seed: int = 0,
    kind: Kind = "lightgbm",
    progress: Progress | None = None,
    limit: int | None = None,
    test_fraction: float = TEST_FRACTION,
    embedder: Embedder | None = None,
) -> MindReport:
    """Replay the impressions of a MIND folder and score the ranker against baselines.

    ``train_dir``: learn from that folder's log and score every usable impression of
    ``test_dir``; without it, ``test_dir``'s own log is split (by time when every
    impression has one, else by a seeded hash of impression ids, ``test_fraction`` scored).
    ``kind``: the learned scorer (``lightgbm`` or ``logistic``). ``limit``: read at most
    this many impressions from each ``behaviors.tsv`` (a quick run). ``progress`` is told
    each stage as it starts. Raises :class:`~tidings.errors.InputError` for a missing
    folder or file, or a log with nothing to train on or score.
    """
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, not {test_fraction}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")

    say("reading the logs")
    table = NewsTable()
    test_log, _ = read_log(Path(test_dir), table, limit=limit)
    train_log = read_log(Path(train_dir), table, limit=limit)[0] if train_dir else None
    warnings = [*test_log.warnings, *(train_log.warnings if train_log else [])]
    notes: list[str] = []

    if train_log is not None:
        train, test, split = train_log.impressions, test_log.impressions, "train-dir"
        notes.append(
            f"trained on {train_dir} ({len(train)} impressions) and scored {test_dir}; "
            "popularity counted from the training log only"
        )
    else:
        train, test, split = split_log(test_log.impressions, seed, test_fraction)
        if split == "time":
            notes.append(
                f"split by time: the earliest {len(train)} impressions train, the latest "
                f"{len(test)} are scored; popularity counts only impressions before each one"
                f" (recent window: the last {RECENT_HOURS:g} hours)"
            )
        else:
            notes.append(
                "the log has no times, so it is split by a seeded hash of impression ids "
                f"(seed {seed}): {len(train)} impressions train, {len(test)} "
                f"({test_fraction:.0%}) are held out and scored; popularity is counted from "
                "the training impressions only"
            )

    if not test_log.has_meta:
        notes.append(f"no {META} in {test_dir}: every candidate list is taken as complete")
    scored = [i for i in test if i.full and i.usable]
    training = [i for i in train if i.usable]
    subsampled = sum(1 for i in test if not i.full)
    single_label = sum(1 for i in test if i.full and not i.usable)
    if subsampled:
        notes.append(
            f"{subsampled} held-out impressions with subsampled candidate lists are not scored "
            "(metrics use complete lists only); subsampled impressions still train"
        )
    if single_label:
        notes.append(f"{single_label} impressions with only clicks or only non-clicks skipped")
    if not scored:
        raise InputError(str(test_dir), "no impression to score (a full list, clicked and not)")
    if not training:
        raise InputError(str(train_dir or test_dir), "no impression to train on")

    # The news the logs mention are embedded (not only the split's: the same texts, so the
    # cached vectors serve every seed and split of these logs).
    read_in = [*test_log.impressions, *(train_log.impressions if train_log else [])]
    used = np.unique(np.concatenate([a for i in read_in for a in (i.history, i.candidates)]))
    say(f"embedding {len(used)} articles")
    embedding_started = time.perf_counter()
    embedder = embedder or default_embedder()
    used_vectors, from_cache = embed_texts([table.texts[r] for r in used], embedder)
    vectors = np.zeros((len(table.ids), embedder.dimensions), dtype=np.float32)
    vectors[used] = used_vectors
    embedding_seconds = time.perf_counter() - embedding_started

    say("counting popularity and building features")
    size = len(table.ids)
    if split == "time":
        timed = timed_popularity([*train, *test], size)  # every impression counts
        train_popularity = [timed[id(i)] for i in training]
        test_popularity = [timed[id(i)] for i in scored]
    else:
        train_popularity, test_popularity = hashed_popularity(
            train, training, scored, size, seed=seed
        )
        notes.append(
            "training rows' popularity is out-of-fold "
            f"({POPULARITY_FOLDS} folds, rescaled) so no row sees its own click; the recent "
            "window, lacking times, weighs each training impression by the overlap of its "
            f"candidate list with the scored one (Jaccard^{RECENT_OVERLAP_POWER:g})"
        )
    train_rows = build_rows(training, train_popularity, vectors, table.topics)
    test_rows = build_rows(scored, test_popularity, vectors, table.topics)

    say(f"training the {kind} scorer on {len(training)} impressions")
    training_started = time.perf_counter()
    scorer = fit(train_rows.matrix, train_rows.labels, train_rows.groups, kind=kind, seed=seed)
    training_seconds = time.perf_counter() - training_started
    notes.append(
        f"{kind} scorer over {len(FEATURES)} features, trained on {len(train_rows.labels)} "
        f"rows in {training_seconds:.1f} s"
    )
    if from_cache:
        notes.append("article vectors came from the cache (same texts, same model)")

    say(f"scoring {len(scored)} impressions")
    per_impression = _score(scorer, test_rows, seed)
    methods = {
        name: MethodScores(*(float(v) for v in values.mean(axis=0)), impressions=len(values))
        for name, values in per_impression.items()
    }
    contributions = np.abs(scorer.contributions(test_rows.matrix)).mean(axis=0)
    importance = sorted(zip(FEATURES, contributions.tolist(), strict=True), key=lambda f: -f[1])
    counts = {
        "impressions_read": len(test_log.impressions)
        + (len(train_log.impressions) if train_log else 0),
        "training_impressions": len(training),
        "training_rows": len(train_rows.labels),
        "held_out_impressions": len(test),
        "scored_impressions": len(scored),
        "scored_candidates": len(test_rows.labels),
        "scored_clicks": int(test_rows.labels.sum()),
        "subsampled_not_scored": subsampled,
        "single_label_not_scored": single_label,
        "rows_skipped": sum(log.rows_skipped for log in (test_log, train_log) if log),
        "dropped_candidate_ids": sum(
            log.dropped_candidates for log in (test_log, train_log) if log
        ),
        "dropped_history_ids": sum(log.dropped_history for log in (test_log, train_log) if log),
        "articles_embedded": len(used),
    }
    return MindReport(
        methods=methods,
        split=split,
        test_dir=str(test_dir),
        train_dir=None if train_dir is None else str(train_dir),
        seed=seed,
        kind=kind,
        counts=counts,
        standard_errors=_standard_errors(per_impression),
        versus=_versus(per_impression),
        importance=dict(importance),
        seconds={
            "embedding": embedding_seconds,
            "training": training_seconds,
            "total": time.perf_counter() - started,
        },
        notes=notes,
        warnings=warnings,
    )


def _score(scorer: Scorer, rows: Rows, seed: int) -> dict[str, np.ndarray]:
    """Per-impression metrics (impressions × METRICS) of every method, on the same rows."""
    scores = {
        "tidings": scorer.score(rows.matrix),
        "prior": PRIOR.score(rows.matrix),
        "popularity": rows.clicks,
        "ctr": rows.matrix[:, FEATURES.index("ctr")],
        "content": rows.matrix[:, FEATURES.index("similarity_mean")],
        "random": np.random.default_rng([seed, 1]).random(len(rows.labels)),
    }
    ties = np.random.default_rng([seed, 2]).random(len(rows.labels))
    slices = rows.slices()
    out = {name: np.zeros((len(slices), len(METRICS))) for name in METHODS}
    for n, part in enumerate(slices):
        labels = rows.labels[part]
        for name in METHODS:
            out[name][n] = impression_metrics(labels, np.asarray(scores[name][part]), ties[part])
    return out


def _standard_errors(per_impression: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Standard error of each mean metric over impressions."""
    out: dict[str, dict[str, float]] = {}
    for name, values in per_impression.items():
        n = len(values)
        errors = values.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(len(METRICS))
        out[name] = dict(zip(METRICS, errors.tolist(), strict=True))
    return out


def _versus(per_impression: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """For each baseline, the mean per-impression AUC gain of tidings and its standard error
    (paired: the same impressions)."""
    out: dict[str, dict[str, float]] = {}
    learned = per_impression["tidings"][:, 0]
    for name in METHODS:
        if name == "tidings":
            continue
        gain = learned - per_impression[name][:, 0]
        se = float(gain.std(ddof=1) / math.sqrt(len(gain))) if len(gain) > 1 else 0.0
        out[name] = {"auc_gain": float(gain.mean()), "auc_gain_se": se}
    return out
