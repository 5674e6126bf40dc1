"""Extractive key points: the few sentences of an article that best say what it is about.

For articles whose source gives no summary bullets. No model: sentences are scored by
position (news puts the point first), overlap with the title, and centrality (TF-IDF cosine
to the whole article), and the best are returned verbatim, in article order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

__all__ = ["key_points", "split_sentences"]

#: A body shorter than this has no key points: picking from one or two sentences would
#: only repeat the article. Longer bodies give at most ``len(sentences) - 1`` points.
MIN_BODY_SENTENCES = 3
MIN_WORDS = 6
MAX_WORDS = 60
# Key points come from the part of an article a reader sees first; reading no further keeps a
# 1 MB text from costing minutes (centrality is quadratic in the number of sentences).
MAX_BODY_CHARS = 20_000


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Abbreviations before which a period never ends a sentence: titles of people.
_TITLES = _word_set(
    "mr mrs ms messrs mme dr prof gen lt col maj sgt cpl capt cmdr adm gov sen rep rev hon "
    "pres supt insp fr st mt ft"
)
# Abbreviations that usually sit mid-sentence but can end one ("... Apple Inc. The ...").
_ABBREVIATIONS = _word_set(
    "jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri "
    "inc corp co ltd plc llc bros jr sr etc vs approx dept univ ave blvd no nos vol "
    "fig cf al eds"
)
# Words that start sentences: after an abbreviation they tip the balance to a boundary.
_STARTERS = _word_set(
    "the a an he she it they we i you his her its their our this that these those there "
    "in on at as after before but and or so yet however meanwhile also while when if "
    "police officials authorities"
)

# End punctuation, then any closing quotes or brackets, then space.
_BOUNDARY = re.compile(r"(?:[.!?]+|…)[\"'”’)\]]*(?=\s)")
_NEXT_WORD = re.compile(r"\s+([\"'“‘(\[]*)(\S*)")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences (line breaks always end one).

    Periods in decimals ("3.5"), initials ("John F. Kennedy"), titles ("Mr. Smith") and
    abbreviations ("U.S.", "Jan. 5", "Apple Inc.") do not end a sentence unless the next
    word is a typical sentence opener; "?" and "!" inside a quote followed by a lower-case
    word ("'Why?' he asked") do not either.
    """
    sentences: list[str] = []
    for line in paragraph.splitlines():
        start = 0
        for match in _BOUNDARY.finditer(line):
            if _ends_sentence(line, match):
                sentences.append(line[start : match.end()])
                start = match.end()
        sentences.append(line[start:])
    return [s for s in (" ".join(s.split()) for s in sentences) if s]


def _ends_sentence(line: str, match: re.Match[str]) -> bool:
    following = _NEXT_WORD.match(line, match.end())
    if not following or not following.group(2):
        return True
    opener, word = following.groups()
    first = word[0]
    if not (first.isupper() or first.isdigit() or opener):
        return False  # "... he said. he ..." is rare; '"Why?" he asked' is common
    if not match.group().startswith("."):
        return True
    if match.group().startswith(".."):  # an ellipsis before a capital: a new sentence
        return True
    head = line[: match.start()]
    before = head.split()[-1].lstrip("\"'“‘([").lower() if head and not head[-1].isspace() else ""
    if not before or before[-1].isdigit():
        return True
    if before in _TITLES:
        return False
    if len(before) == 1 and before.isalpha():  # an initial
        return False
    starter = word.strip("\"'“‘”’,").lower() in _STARTERS
    if "." in before or before in _ABBREVIATIONS:  # "U.S.", "a.m.", "Inc.", "No. 10"
        return starter
    return True


def _stem(word: str) -> str:
    # Just enough folding that "elections" meets "election" and "Russia's" meets "Russia".
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


def _content_words(text: str) -> list[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return [_stem(w) for w in words if w not in ENGLISH_STOP_WORDS and len(w) > 1]


def _quote_spans(paragraph: str) -> list[tuple[int, int]]:
    """Character ranges inside quotation marks ("…" or “…”; a lone ’ is an apostrophe)."""
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    closer = '"'
    for i, char in enumerate(paragraph):
        if opened is None:
            if char == '"' or char == "“":
                opened, closer = i, "”" if char == "“" else '"'
        elif char == closer:
            spans.append((opened, i + 1))
            opened = None
    if opened is not None:  # a quote running on past the paragraph (news style)
        spans.append((opened, len(paragraph)))
    return spans


@dataclass
class _Sentence:
    text: str
    index: int  # position in the body
    quoted: float  # share of its letters inside quotation marks
    words: list[str]  # content words


def _body_sentences(paragraphs: Sequence[str]) -> list[_Sentence]:
    sentences: list[_Sentence] = []
    for paragraph in paragraphs:
        flat = " ".join(paragraph.split())
        inside = np.zeros(len(flat) + 1, dtype=bool)
        for begin, end in _quote_spans(flat):
            inside[begin:end] = True
        cursor = 0
        for line in paragraph.splitlines():
            for text in split_sentences(line):
                if not any(c.isalpha() for c in text):
                    continue
                at = flat.find(text, cursor)
                letters = [c.isalnum() for c in text]
                quoted = 0.0
                if at >= 0:
                    cursor = at + len(text)
                    share = inside[at : at + len(text)][letters]
                    quoted = float(share.mean()) if share.size else 0.0
                words = _content_words(text)
                sentences.append(_Sentence(text, len(sentences), quoted, words))
    return sentences


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def key_points(title: str, paragraphs: Sequence[str], *, count: int = 3) -> list[str]:
    """Up to ``count`` key sentences of the article, verbatim and in article order.

    Returns ``[]`` when the body has fewer than three sentences, and never more than
    all-but-one of them, so a key point never just repeats the whole article. Skips
    sentences that are too short or long to stand alone, that are (almost) all
    quotation, or that restate the title; and picks no two near-identical sentences.
    """
    sentences = _body_sentences(_lead(paragraphs))
    if count < 1 or len(sentences) < MIN_BODY_SENTENCES:
        return []
    limit = min(count, len(sentences) - 1)

    title_words = set(_content_words(title))
    candidates = [s for s in sentences if _eligible(s, title_words)]
    if not candidates:
        return []

    centrality = _centrality(sentences, candidates)
    scored: list[tuple[float, _Sentence]] = []
    for sentence, central in zip(candidates, centrality, strict=True):
        position = 1.0 / math.sqrt(1 + sentence.index)  # lead bias, gently decaying
        words = set(sentence.words)
        on_title = len(words & title_words) / len(title_words) if title_words else 0.0
        score = 0.45 * position + 0.3 * on_title + 0.25 * central
        score *= 1.0 - 0.5 * sentence.quoted  # quotes colour a story more than state it
        scored.append((score, sentence))
    # Ties break on position, so the result never depends on anything but the text.
    scored.sort(key=lambda pair: (-pair[0], pair[1].index))

    chosen: list[_Sentence] = []
    for _, sentence in scored:
        if len(chosen) == limit:
            break
        words = set(sentence.words)
        if all(_overlap(words, set(c.words)) < 0.5 for c in chosen):
            chosen.append(sentence)
    return [s.text for s in sorted(chosen, key=lambda s: s.index)]


def _lead(paragraphs: Sequence[str]) -> list[str]:
    """The paragraphs within the first :data:`MAX_BODY_CHARS` characters (the last one cut)."""
    lead: list[str] = []
    room = MAX_BODY_CHARS
    for paragraph in paragraphs:
        if room <= 0:
            break
        lead.append(paragraph[:room])
        room -= len(paragraph)
    return lead


def _eligible(sentence: _Sentence, title_words: set[str]) -> bool:
    length = len(sentence.text.split())
    if not MIN_WORDS <= length <= MAX_WORDS:
        return False
    if sentence.quoted >= 0.8 or len(sentence.words) < 3:
        return False
    if not sentence.text.rstrip("\"'”’)]").endswith((".", "!", "?", "…")):
        return False  # captions, datelines, headings and other fragments
    words = set(sentence.words)
    if title_words and len(words & title_words) / len(words) >= 0.8:
        return False  # the title again, perhaps with a word or two changed
    return _overlap(words, title_words) < 0.6


def _centrality(sentences: list[_Sentence], candidates: list[_Sentence]) -> np.ndarray:
    """Each candidate's TF-IDF cosine to the article as a whole, scaled so the best is 1."""
    vectorizer = TfidfVectorizer(analyzer=lambda words: words, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([s.words for s in sentences])
    except ValueError:  # no content words at all
        return np.zeros(len(candidates))
    centroid = np.asarray(matrix.mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid)
    if norm == 0:
        return np.zeros(len(candidates))
    rows = matrix[[s.index for s in candidates]]
    similarity = np.asarray(rows @ (centroid / norm)).ravel()  # rows are L2-normalised
    top = similarity.max()
    return similarity / top if top > 0 else similarity
