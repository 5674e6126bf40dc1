"""The snippet under a search result: the passage of the article with the most of the
query's words, those words marked. Words match as full-text search matched them — by
stem, ignoring case and accents ("pledges" marks "pledged"). Pure."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Sequence

import snowballstemmer

WIDTH = 240  # characters of a snippet, about two lines
BEFORE = 60  # context kept before the first matched word
MAX_SCAN = 3_000  # characters of an article looked through for the best passage (its lead)

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


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    return _stemmer().stemWord(_fold(word).replace("'", "").replace("’", ""))


def _heads(stems: set[str]) -> tuple[str, ...]:
    """What a word must start with to have one of ``stems`` as its stem: the stem less its
    last letter (English stems are prefixes of their words, but for y → i: "happi")."""
    return tuple({s[:-1] if len(s) > 3 else s for s in stems if s})


class _Fold(dict[int, str]):
    """Each accented letter's base letter, one character for one (so offsets into folded
    text are offsets into the text); filled as characters are met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        self[code] = found = base if len(base) == 1 else char
        return found


_FOLD = _Fold()
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@functools.lru_cache(maxsize=4_096)
def _words_from(heads: tuple[str, ...]) -> re.Pattern[str]:
    """The words starting with one of ``heads`` (in lower-case, folded text)."""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, heads)) + r")\w*(?:['’]\w+)*")


def _folded(passage: str) -> str:
    """``passage`` in lower case without accents, one character for one ("Pyöngyang" →
    "pyongyang"), so that offsets into it are offsets into the passage."""
    low = passage.lower()
    if len(low) != len(passage):  # a letter whose lower case is longer ("İ"): keep it
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in passage)
    if low.isascii():
        return low
    return _NON_ASCII.sub(lambda m: _FOLD[ord(m.group(0))], low)  # rare: one call each


def _matches(passage: str, stems: set[str], heads: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """(start, end, stem) of the words of ``passage`` whose stem is one of ``stems``: a
    passage holding none of ``heads`` is passed over at once; in the others one regular
    expression finds the words starting as a stem does, and only those are stemmed."""
    folded = _folded(passage)
    if not any(h in folded for h in heads):
        return []
    found = []
    for m in _words_from(heads).finditer(folded):
        s = stem(m.group(0))
        if s in stems:
            found.append((m.start(), m.end(), s))
    return found


def snippet(
    passages: Sequence[str], terms: Sequence[str], *, width: int = WIDTH
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The passage of ``passages`` with the most of ``terms`` (the first, on a tie) cut to
    about ``width`` characters around them, and the ``[start, end)`` offsets of the matched
    words in it. Without a match, the start of the first passage, nothing marked."""
    stems = {stem(t) for t in terms if t}
    heads = tuple(sorted(_heads(stems)))
    best: tuple[int, int, str, list[tuple[int, int]]] | None = None  # (-distinct, n, …)
    scanned = 0
    for n, passage in enumerate(passages):
        if scanned > MAX_SCAN or not heads:
            break
        found = _matches(passage[: MAX_SCAN - scanned], stems, heads)
        scanned += len(passage)
        distinct = len({s for _, _, s in found})
        if distinct and (best is None or -distinct < best[0]):
            best = (-distinct, n, passage, [(a, b) for a, b, _ in found])
            if distinct == len(stems):
                break  # no passage can hold more
    if best is None:
        first = next((p for p in passages if p.strip()), "")
        return _cut(first, 0, width)[0], ()
    _, _, passage, hits = best
    start = max(0, hits[0][0] - BEFORE)
    text, offset = _cut(passage, start, width)
    end = len(text) - (text.endswith("…") and not passage.endswith("…"))  # before "…"
    marked = tuple((a - offset, b - offset) for a, b in hits if a >= offset and b - offset <= end)
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
