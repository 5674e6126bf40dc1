"""The plain reason beside every feed item, from what contributed most to its score. Pure.

A reason is always true of the card it is on: "Matches your search 'X'" only beside a story
that search matched; "You follow X" names a topic of the article
shown, or says which report of the story carries it ("You follow North Korea — in
Reuters' report"); "From The Guardian, which you added" only when the article shown is The
Guardian's. A page varies its reasons (:func:`vary`): when one sentence (or one kind of
reason) has been given often enough on a page, an item with another true reason gives that
one instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
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

    search: str | None = None  # a followed search the story matches (its query)
    followed: str | None = None  # a followed topic of the article shown, by name
    # … or, when only another article of the story carries one: (its name, that article's
    # source, or None when it has none)
    followed_elsewhere: tuple[str, str | None] | None = None
    added: str | None = None  # the article shown is from this source the reader follows
    topic: str | None = None  # its topic the reader reads most about, by name
    topic_often: bool = False  # read about in two articles or more
    read_title: str | None = None  # the title of the closest article the reader read
    source: str | None = None
    outlets: int = 1
    clicked: bool = False  # other readers opened it lately
    fresh: bool = False  # published within the last day or so


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # search | followed | added | topic | read | source | popular | fresh | outlets | new
    text: str


# A reason's sentence may appear this often on one page (and its kind this often) before an
# item that has another true reason gives that one instead.
SAME_TEXT = 2
SAME_CODE = 5
SEARCH_CHARS = 60  # a longer query is cut (with an ellipsis) in "Matches your search '…'"
# The order other true reasons are offered in, when an item's own best one is used up.
_FALLBACK = (
    "search",
    "followed",
    "added",
    "topic",
    "read",
    "source",
    "outlets",
    "popular",
    "fresh",
)


def explain(contributions: np.ndarray, features: np.ndarray, evidence: Evidence) -> Reason:
    """The reason for one candidate: its largest positive group of contributions whose
    particulars are known (a followed search or topic outranks everything: the reader asked
    for it)."""
    return choices(contributions, features, evidence)[0]


def choices(contributions: np.ndarray, features: np.ndarray, evidence: Evidence) -> list[Reason]:
    """Every true reason for one candidate, best first (the first is :func:`explain`'s)."""
    order = [g for g in ("search", "followed", "added") if _usable(g, evidence)]  # asked for
    ranked = sorted(
        _GROUPS,
        key=lambda group: -sum(contributions[_COLUMN[name]] for name in _GROUPS[group]),
    )
    for group in ranked:
        if sum(contributions[_COLUMN[name]] for name in _GROUPS[group]) <= 0:
            break
        if _usable(group, evidence):
            order.append(group)
    order += [g for g in ("fresh", "outlets", "popular") if _usable(g, evidence)]
    order += [g for g in _FALLBACK if _usable(g, evidence)]
    found = [_sentence(g, evidence) for g in dict.fromkeys(order)]
    return found or [Reason("new", "Something new for you to try")]


def vary(
    options: Sequence[Sequence[Reason]], *, same_text: int = SAME_TEXT, same_code: int = SAME_CODE
) -> list[Reason]:
    """One reason per item of a page (``options``: each item's :func:`choices`, in page
    order): each item's best reason, unless its sentence has already been given
    ``same_text`` times (or its kind ``same_code`` times) on the page and the item has
    another true reason that has not."""
    texts: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    out: list[Reason] = []
    for reasons in options:
        chosen = next(
            (r for r in reasons if texts[r.text] < same_text and codes[r.code] < same_code),
            None,
        )
        if chosen is None:
            chosen = next((r for r in reasons if texts[r.text] < same_text), reasons[0])
        texts[chosen.text] += 1
        codes[chosen.code] += 1
        out.append(chosen)
    return out


def _usable(group: str, evidence: Evidence) -> bool:
    return {
        "search": evidence.search is not None,
        "followed": evidence.followed is not None or evidence.followed_elsewhere is not None,
        "added": evidence.added is not None,
        "topic": evidence.topic is not None,
        "read": evidence.read_title is not None,
        "source": evidence.source is not None,
        "outlets": evidence.outlets > 1,
        "popular": evidence.clicked,
        "fresh": evidence.fresh,
    }[group]


def _sentence(group: str, evidence: Evidence) -> Reason:
    if group == "followed":  # the only sentence that needs more than a field
        return Reason(group, _followed(evidence))
    if group == "search":
        assert evidence.search is not None
        return matches_search(evidence.search)
    text = {
        "added": f"From {evidence.added}, which you added",
        "topic": f"You often read about {evidence.topic}"
        if evidence.topic_often
        else f"More on {evidence.topic}",
        "read": f"Because you read “{evidence.read_title}”",
        "source": f"New from a source you often read: {evidence.source}",
        "popular": "Popular now",
        "fresh": "Among the newest stories",
        "outlets": f"Told by {evidence.outlets} outlets",
    }[group]
    return Reason(group, text)


def matches_search(query: str) -> Reason:
    """The reason of a story a followed search matched (in the feed, and in the search's
    own Atom feed): the query quoted, cut to :data:`SEARCH_CHARS` with an ellipsis."""
    if len(query) > SEARCH_CHARS:
        query = query[: SEARCH_CHARS - 1].rstrip() + "…"
    return Reason("search", f"Matches your search '{query}'")


def _followed(evidence: Evidence) -> str:
    if evidence.followed is not None:
        return f"You follow {evidence.followed}"
    assert evidence.followed_elsewhere is not None
    name, source = evidence.followed_elsewhere
    possessive = "’" if source and source.endswith("s") else "’s"
    where = f"{source}{possessive} report" if source else "another report of this story"
    return f"You follow {name} — in {where}"
