"""MIND's metrics, as MIND's own evaluation script computes them: AUC, MRR, nDCG@5 and
nDCG@10 of one impression (the replay in :mod:`tidings.evaluate.mind` averages them)."""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "auc", "dcg", "impression_metrics", "mrr", "ndcg"]

METRICS: tuple[str, ...] = ("auc", "mrr", "ndcg5", "ndcg10")


def dcg(labels: np.ndarray, scores: np.ndarray, k: int = 10) -> float:
    """MIND's ``dcg_score``: gains ``2^rel − 1`` of the top ``k``, discounted by log2(rank+1)."""
    order = np.argsort(scores)[::-1]
    gains = 2.0 ** np.take(labels, order[:k]) - 1
    discounts = np.log2(np.arange(len(gains)) + 2)
    return float(np.sum(gains / discounts))


def ndcg(labels: np.ndarray, scores: np.ndarray, k: int = 10) -> float:
    """MIND's ``ndcg_score``: the DCG of ``scores`` over the DCG of the ideal order."""
    labels = np.asarray(labels, dtype=np.float64)
    return dcg(labels, scores, k) / dcg(labels, labels, k)


def mrr(labels: np.ndarray, scores: np.ndarray) -> float:
    """MIND's ``mrr_score``: the sum of 1/rank over clicked candidates, over the clicks."""
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(scores)[::-1]
    ranked = np.take(labels, order)
    return float(np.sum(ranked / (np.arange(len(ranked)) + 1)) / np.sum(labels))


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of one impression (scikit-learn's, ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def impression_metrics(labels: np.ndarray, scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """AUC, MRR, nDCG@5 and nDCG@10 of one impression.

    Among equal ``scores`` the rank metrics put the higher ``tiebreak`` first (the replay
    passes seeded random numbers), so ties never inherit the order the log lists candidates
    in; AUC counts a tie as half a correct pair.
    """
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[np.lexsort((tiebreak, scores))] = np.arange(len(scores))
    return np.array(
        [auc(labels, scores), mrr(labels, ranks), ndcg(labels, ranks, 5), ndcg(labels, ranks, 10)]
    )
