"""One entry per topic in a list of topics across articles (what onboarding offers).

Within an article, entities are already merged under one name (see
:mod:`tidings.understand.entities`). Across articles the same thing can still go by several
names — "Bush" where an article never spells him out, "WHO" beside "World Health
Organization", "Democrats" stored before the party alias existed — and outlets stored
before they stopped counting as topics. This folds such a list, keeping the first entry of
each group (the lists come most-used first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tidings.understand.entities import initials
from tidings.understand.entity_names import ALIASES, GENERIC, HONORIFICS, lookup_key, merge_key
from tidings.understand.outlets import is_outlet

__all__ = ["Topic", "distinct_topics"]


@dataclass(frozen=True, slots=True)
class Topic:
    key: str  # the topic key readers follow ("north-korea")
    name: str
    kind: str  # person, place, … or "label" for a source's own category
    articles: int


def _alias_keys(topic: Topic) -> set[str]:
    """Every key under which ``topic`` is the same as another: its slug and name folded,
    its table alias, and for a name of several words its initials ("WHO")."""
    name = merge_key(topic.name)
    keys = {f"slug:{topic.key}", f"name:{name}"}
    if (alias := ALIASES.get(lookup_key(topic.name))) is not None:
        keys.add(f"name:{merge_key(alias[0])}")
    if topic.kind not in ("person", "label") and (letters := initials(topic.name)):
        keys.add(f"name:{merge_key(letters)}")
    return keys


def distinct_topics(topics: Iterable[Topic], limit: int) -> list[Topic]:
    """The ``limit`` most used topics that are neither outlets, bare common words nor
    another's alias; a bare surname folds into the one listed person it is the last name
    of ("Bush" into "George W. Bush"). A group counts the articles of all its names."""
    kept: list[Topic] = []
    counts: list[int] = []
    owner: dict[str, int] = {}
    for topic in topics:
        if is_outlet(topic.name) or _generic(topic.name):
            continue
        keys = sorted(_alias_keys(topic))
        known = [owner[k] for k in keys if k in owner]
        if known:
            counts[min(known)] += topic.articles
            continue
        for key in keys:
            owner[key] = len(kept)
        kept.append(topic)
        counts.append(topic.articles)
    surnames: dict[str, set[int]] = {}
    for index, topic in enumerate(kept):
        words = lookup_key(topic.name).split()
        if topic.kind == "person" and len(words) > 1:
            surnames.setdefault(words[-1], set()).add(index)
    merged: set[int] = set()
    for index, topic in enumerate(kept):
        words = lookup_key(topic.name).split()
        people = surnames.get(words[0], set()) if len(words) == 1 else set()
        if topic.kind == "person" and len(people) == 1:
            (full,) = people
            counts[full] += counts[index]
            merged.add(index)
    out = [Topic(t.key, t.name, t.kind, counts[i]) for i, t in enumerate(kept) if i not in merged]
    out.sort(key=lambda t: -t.articles)  # stable: ties keep the order given
    return out[:limit]


def _generic(name: str) -> bool:
    key = lookup_key(name)
    return key in GENERIC or key in HONORIFICS
