"""Known entity names found in text without a model: an Aho–Corasick automaton over names.

NER reads an article's lead; further on, what a story names is mostly what it named before
or what the store has seen in other articles. Finding those names is a scan of the text
(``pyahocorasick``: about 37x faster than spaCy's NER), so only the sentences with a name
nobody knows yet need the model.

Names match whole words and as written (case counts: "Apple" the firm, not "apple").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

# The NER label a known name's kind stands for, so a gazetteer mention goes through the same
# canonicalisation as one NER found (see entities.KINDS, of which this is the inverse).
LABELS: dict[str, str] = {
    "person": "PERSON",
    "organisation": "ORG",
    "place": "GPE",
    "group": "NORP",
    "event": "EVENT",
    "product": "PRODUCT",
    "work": "WORK_OF_ART",
    "law": "LAW",
}
OTHER_LABEL = "OTHER"
# Shorter known names are too often a word or a fragment; an article's own names found by NER
# in its lead ("US", "EU") are taken from two characters.
MIN_CHARS = 3
OWN_MIN_CHARS = 2


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a known name: ``text[start:end] == name``."""

    name: str
    label: str
    start: int
    end: int


def label_for(kind: str) -> str:
    """The NER label for an entity kind ("place" -> "GPE")."""
    return LABELS.get(kind, OTHER_LABEL)


class Gazetteer:
    """A fixed set of names, each with the NER label it stands for, found in one pass."""

    def __init__(self, names: Iterable[tuple[str, str]], *, min_chars: int = MIN_CHARS) -> None:
        """``names``: ``(surface form, NER label)``; the first label given for a form wins.
        Names shorter than ``min_chars`` are left out."""
        self._automaton = ahocorasick.Automaton()
        for name, label in names:
            name = name.strip()
            if len(name) >= min_chars and name not in self._automaton:
                self._automaton.add_word(name, (name, label))
        self.size = len(self._automaton)
        if self.size:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return self.size

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[Hit]:
        """The longest non-overlapping names in ``text[start:end]`` standing as whole words."""
        if not self.size or start >= len(text):
            return []
        stop = len(text) if end is None else min(end, len(text))
        hits: list[Hit] = []
        for last, (name, label) in self._automaton.iter_long(text, start, stop):
            first = last - len(name) + 1
            if _word_edge(text, first - 1) and _word_edge(text, last + 1):
                hits.append(Hit(name, label, first, last + 1))
        return hits


def _word_edge(text: str, at: int) -> bool:
    """Whether position ``at`` (just outside a match) is not part of a word."""
    return at < 0 or at >= len(text) or not (text[at].isalnum() or text[at] in "-_")
