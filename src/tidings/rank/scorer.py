"""Scorers: turn a feature matrix into one score per candidate, and say which features
made each score (the reason line is built from that).

* :data:`PRIOR` — hand-set weights, used before any reader has acted (cold start).
* :func:`fit` — learned from logged impressions: LightGBM LambdaRank (a ranking objective
  grouped by impression) or logistic regression.

A scorer is stored as JSON (:meth:`Scorer.to_dict`) naming the features it was trained on;
loading it against a newer :data:`~tidings.rank.features.FEATURES` maps columns by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from tidings.errors import TidingsError
from tidings.rank.features import FEATURES

__all__ = ["PRIOR", "BoostedScorer", "LinearScorer", "Scorer", "fit", "from_dict"]

Kind = Literal["lightgbm", "logistic"]


class Scorer(Protocol):
    features: tuple[str, ...]

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """One score per row of a matrix in :data:`FEATURES` order; higher ranks first."""
        ...

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """(rows, len(FEATURES)): how much each feature added to each row's score."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


def _columns(trained_on: Sequence[str]) -> list[int | None]:
    """For each feature a model was trained on, its column in today's matrix (None: gone)."""
    index = {name: i for i, name in enumerate(FEATURES)}
    return [index.get(name) for name in trained_on]


def _select(matrix: np.ndarray, columns: Sequence[int | None]) -> np.ndarray:
    out = np.zeros((matrix.shape[0], len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        if column is not None:
            out[:, j] = matrix[:, column]
    return out


def _spread(values: np.ndarray, columns: Sequence[int | None]) -> np.ndarray:
    """Per-model-feature contributions back into :data:`FEATURES` columns."""
    out = np.zeros((values.shape[0], len(FEATURES)), dtype=np.float64)
    for j, column in enumerate(columns):
        if column is not None:
            out[:, column] += values[:, j]
    return out


@dataclass(slots=True)
class LinearScorer:
    """score = bias + Σ weight · (x − mean) / scale."""

    features: tuple[str, ...]
    weights: np.ndarray
    bias: float = 0.0
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    name: str = "linear"

    def _standardised(self, matrix: np.ndarray) -> np.ndarray:
        x = _select(matrix, _columns(self.features))
        if self.mean is not None:
            x = x - self.mean
        if self.scale is not None:
            x = x / self.scale
        return x

    def score(self, matrix: np.ndarray) -> np.ndarray:
        return self._standardised(matrix) @ self.weights + self.bias

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        return _spread(self._standardised(matrix) * self.weights, _columns(self.features))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "linear",
            "name": self.name,
            "features": list(self.features),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "mean": None if self.mean is None else self.mean.tolist(),
            "scale": None if self.scale is None else self.scale.tolist(),
        }


@dataclass(slots=True)
class BoostedScorer:
    """A LightGBM model; contributions are its own SHAP values (``pred_contrib``)."""

    features: tuple[str, ...]
    booster: Any  # lightgbm.Booster
    name: str = "lightgbm"

    def score(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(_select(matrix, _columns(self.features))))

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        raw = np.asarray(
            self.booster.predict(_select(matrix, _columns(self.features)), pred_contrib=True)
        )
        return _spread(raw[:, :-1], _columns(self.features))  # last column: the bias

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "lightgbm",
            "name": self.name,
            "features": list(self.features),
            "model": self.booster.model_to_string(),
        }


# The cold-start prior: what a sensible editor would weigh before any reader has acted.
# Features are used raw (each is already on a 0..~3 scale), so weights read directly.
_PRIOR_WEIGHTS = {
    "followed": 2.0,
    "topic_affinity": 1.5,
    "topic_affinity_sum": 0.5,
    "source_affinity": 0.5,
    "similarity_mean": 2.0,
    "similarity_max": 1.0,
    "fewer_like": -3.0,
    "freshness": 1.0,
    "popularity": 0.25,
    "ctr": 4.0,
    "story_size": 0.4,
    "seen": -0.8,
    # Popularity stays with ctr and popularity above: its within-list rank and the recent
    # window (which repeats the one window when the feed has no shorter one) would count it
    # twice, and a percentile spread over ~1,000 stories outweighs the hand-set ctr weight.
    "exposure": 0.0,  # shown often says nothing alone: ctr tells whether it was taken up
    "ctr_rank": 0.0,
    "similarity_rank": 0.5,
    "similarity_top": 0.5,
    "history_size": 0.0,  # equal for every candidate of one reader: it cannot reorder them
    "typicality": 0.3,
    "recent_popularity": 0.0,
    "recent_ctr": 0.0,
    "recent_ctr_rank": 0.0,
}
PRIOR = LinearScorer(
    features=tuple(_PRIOR_WEIGHTS),
    weights=np.array(list(_PRIOR_WEIGHTS.values()), dtype=np.float64),
    name="prior",
)


_MONOTONE = {"followed": 1, "fewer_like": -1}


def fit(
    matrix: np.ndarray,
    labels: np.ndarray,
    groups: Sequence[int],
    *,
    kind: Kind = "lightgbm",
    seed: int = 0,
) -> Scorer:
    """Learn a scorer from rows of features, 1/0 labels (clicked or not) and the sizes of
    the impressions the rows came from (consecutive rows, in order)."""
    labels = np.asarray(labels)
    if len(labels) == 0 or labels.min() == labels.max():
        raise TidingsError("training needs both clicked and unclicked impressions")
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        mean = matrix.mean(axis=0).astype(np.float64)
        scale = matrix.std(axis=0).astype(np.float64)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
        model.fit((matrix - mean) / scale, labels)
        return LinearScorer(
            features=FEATURES,
            weights=model.coef_[0].astype(np.float64),
            bias=float(model.intercept_[0]),
            mean=mean,
            scale=scale,
            name="logistic",
        )
    import lightgbm

    data = lightgbm.Dataset(matrix, label=labels, group=list(groups), feature_name=list(FEATURES))
    # Small, shallow trees: clicks are few and noisy. Chosen by 5-fold cross-validation inside
    # the training part of the MIND replay (tidings.evaluate.mind): 6 leaves, ≥200 rows a
    # leaf, 300 rounds at 0.03 did as well as anything tried (15 leaves/50 rows/200 rounds at
    # 0.05 was 0.02 AUC worse; binary and xendcg objectives 0.005 worse than LambdaRank).
    params = {
        "objective": "lambdarank",
        "metric": "auc",
        "learning_rate": 0.03,
        "num_leaves": 6,
        # A small log (the live feed's first days) still gets splits.
        "min_data_in_leaf": int(min(200, max(20, len(labels) // 100))),
        "feature_fraction": 0.9,
        "lambdarank_truncation_level": 20,
        # One thread: at this size OpenMP threads mostly wait on each other — 200 rounds on
        # 30k rows took 1 s on one thread and 12–16 s on two of a busy 2-core machine.
        "num_threads": 1,
        "seed": seed,
        "deterministic": True,
        "verbose": -1,
        # What a reader said outright must never count against them: a followed topic can
        # only raise a story, "fewer like this" only lower it.
        "monotone_constraints": [_MONOTONE.get(name, 0) for name in FEATURES],
    }
    booster = lightgbm.train(params, data, num_boost_round=300)
    return BoostedScorer(features=FEATURES, booster=booster)


def from_dict(data: dict[str, Any]) -> Scorer:
    """A scorer saved by :meth:`Scorer.to_dict`."""
    kind = data.get("kind")
    features = tuple(data["features"])
    if kind == "linear":
        return LinearScorer(
            features=features,
            weights=np.array(data["weights"], dtype=np.float64),
            bias=float(data.get("bias", 0.0)),
            mean=None if data.get("mean") is None else np.array(data["mean"]),
            scale=None if data.get("scale") is None else np.array(data["scale"]),
            name=data.get("name", "linear"),
        )
    if kind == "lightgbm":
        import lightgbm

        booster = lightgbm.Booster(model_str=data["model"])
        return BoostedScorer(features=features, booster=booster, name=data.get("name", kind))
    raise TidingsError(f"unknown scorer kind {kind!r}")
