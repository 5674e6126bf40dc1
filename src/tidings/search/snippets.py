"""The snippet under a search result: the passage of the article with the most of the
query's words, those words marked. Words match as full-text search matched them — by
stem, ignoring case and accents ("pledges" marks "pledged"). Pure."""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Sequence

import snowballstemmer

from tidings.search.query import WORD

WIDTH = 240  # characters of a snippet, about two lines
BEFORE = 60  # context kept before the first matched word
MAX_SCAN = 8_000  # characters of an article looked through for the best passage

_local = threading.local()  # snowball stemmers keep state: one per thread


def _stemmer() -> snowballstemmer.stemmer:
    found = getattr(_local, "stemmer", None)
    if found is None:
        found = _local.stemmer = snowballstemmer.stemmer("english")
    return found


@functools.lru_cache(maxsize=65_536)
def _fold(word: str) -> str:
    """Lower case without accents: "Pyöngyang" → "pyongyang"."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    return _stemmer().stemWord(_fold(word).replace("'", ""))


def snippet(
    passages: Sequence[str], terms: Sequence[str], *, width: int = WIDTH
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The best passage of ``passages`` cut to about ``width`` characters, and the
    ``[start, end)`` offsets of the words in it that match ``terms``. Without a match, the
    start of the first passage, nothing marked."""
    stems = {stem(t) for t in terms if t}
    # Only words sharing a stem's first letters are stemmed: most words are not.
    heads = tuple({s[:3] for s in stems if s})
    best: tuple[int, int, str, list[tuple[int, int]]] | None = None  # (-distinct, n, text, hits)
    scanned = 0
    for n, passage in enumerate(passages):
        if scanned > MAX_SCAN:
            break
        scanned += len(passage)
        hits = []
        found = set()
        if heads:
            for m in WORD.finditer(passage):
                folded = _fold(m.group(0))
                if folded.startswith(heads):
                    s = stem(m.group(0))
                    if s in stems:
                        hits.append(m.span())
                        found.add(s)
        key = (-len(found), n)
        if found and (best is None or key < best[:2]):
            best = (key[0], key[1], passage, hits)
    if best is None:
        first = next((p for p in passages if p.strip()), "")
        text, _ = _cut(first, 0, width)
        return text, ()
    _, _, passage, hits = best
    start = max(0, hits[0][0] - BEFORE)
    text, offset = _cut(passage, start, width)
    marked = tuple(
        (a - offset, b - offset) for a, b in hits if a >= offset and b - offset <= len(text)
    )
    return text, marked


def _cut(passage: str, start: int, width: int) -> tuple[str, int]:
    """``passage`` from about ``start`` for about ``width`` characters, at word boundaries,
    with an ellipsis where it was cut; and the offset of the text's first character in
    ``passage`` minus the ellipsis (so offsets into the passage map into the text)."""
    if start > 0:
        space = passage.rfind(" ", 0, start)
        start = space + 1 if space >= 0 else 0
    end = start + width
    if end < len(passage):
        space = passage.rfind(" ", start, end)
        end = space if space > start else end
    text = passage[start:end].strip()
    lead = len(passage[start:end]) - len(passage[start:end].lstrip())
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(passage) else ""
    return prefix + text + suffix, start + lead - len(prefix)
