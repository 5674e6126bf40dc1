"""The plain reason beside every feed item, from what contributed most to its score. Pure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tidings.rank.features import FEATURES

_COLUMN = {name: i for i, name in enumerate(FEATURES)}
# Features a reader would recognise as a reason, grouped by the sentence they lead to.
_GROUPS: dict[str, tuple[str, ...]] = {
    "followed": ("followed",),
    "topic": ("topic_affinity", "topic_affinity_sum"),
    "read": ("similarity_mean", "similarity_max", "similarity_top", "similarity_rank"),
    "source": ("source_affinity",),
    "popular": (
        "popularity",
        "ctr",
        "ctr_rank",
        "exposure",
        "recent_popularity",
        "recent_ctr",
        "recent_ctr_rank",
    ),
    "fresh": ("freshness",),
    "outlets": ("story_size",),
}
# Only features the matrix has (a group may name one a later version renames).
_GROUPS = {g: tuple(n for n in names if n in _COLUMN) for g, names in _GROUPS.items()}


@dataclass(frozen=True, slots=True)
class Evidence:
    """The particulars a reason may name, found while ranking one candidate."""

    followed: str | None = None  # the followed topic or source it carries, by name
    topic: str | None = None  # its topic the reader reads most about, by name
    topic_often: bool = False  # read about in two articles or more
    read_title: str | None = None  # the title of the closest article the reader read
    source: str | None = None
    outlets: int = 1
    clicked: bool = False  # other readers opened it lately
    fresh: bool = False  # published within the last day or so


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # followed | topic | read | source | popular | fresh | outlets | new
    text: str


def explain(contributions: np.ndarray, features: np.ndarray, evidence: Evidence) -> Reason:
    """The reason for one candidate: its largest positive group of contributions whose
    particulars are known (a followed topic outranks everything: the reader asked for it)."""
    if evidence.followed and features[_COLUMN["followed"]] > 0:
        return _sentence("followed", evidence)
    ranked = sorted(
        _GROUPS,
        key=lambda group: -sum(contributions[_COLUMN[name]] for name in _GROUPS[group]),
    )
    for group in ranked:
        if sum(contributions[_COLUMN[name]] for name in _GROUPS[group]) <= 0:
            break
        if _usable(group, evidence):
            return _sentence(group, evidence)
    for group in ("fresh", "outlets", "popular"):
        if _usable(group, evidence):
            return _sentence(group, evidence)
    return Reason("new", "Something new for you to try")


def _usable(group: str, evidence: Evidence) -> bool:
    return {
        "followed": evidence.followed is not None,
        "topic": evidence.topic is not None,
        "read": evidence.read_title is not None,
        "source": evidence.source is not None,
        "outlets": evidence.outlets > 1,
        "popular": evidence.clicked,
        "fresh": evidence.fresh,
    }[group]


def _sentence(group: str, evidence: Evidence) -> Reason:
    text = {
        "followed": f"You follow {evidence.followed}",
        "topic": f"You often read about {evidence.topic}"
        if evidence.topic_often
        else f"More on {evidence.topic}",
        "read": f"Because you read “{evidence.read_title}”",
        "source": f"New from a source you often read: {evidence.source}",
        "popular": "Popular now",
        "fresh": "Among the newest stories",
        "outlets": f"Covered by {evidence.outlets} outlets",
    }[group]
    return Reason(group, text)
