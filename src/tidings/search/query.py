"""A reader's search text, parsed into what to look for. Pure.

The syntax is what search boxes have taught people: words (any of them, the more the
better), ``"a phrase"`` (required), ``-word`` and ``-"a phrase"`` (excluded), and filters
``source:``, ``topic:``, ``section:``, ``before:`` and ``after:`` (a value may be quoted:
``source:"The Guardian"``). Nothing a reader types is a syntax error: stray quotes close
at the end, and punctuation that full-text engines treat as operators (``*``, ``^``,
``(``, ``NEAR``, ``OR``) is only text here, since terms are handed on as plain words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from tidings.errors import BadQuery
from tidings.safety import clean_text

MAX_CHARS = 500  # longer is pasted text, not a query: the reader is told, not truncated
MAX_SAVED_CHARS = 290  # a saved search is kept as a follow target (300 characters)
MAX_TERMS = 32  # words and phrases beyond these add nothing a ranking could use
FILTERS = ("source", "topic", "section", "before", "after")

# A token: an optional "-", an optional "name:", then a quoted run or a bare run.
_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)(?:"|$)|(\S+))')
# A word as the full-text indexes see one (letters and digits, joined by ' or - inside).
WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
# Too common to find anything with; words alone they are still searched for.
STOPWORDS = frozenset(
    """a an and are as at be but by for from has have he her his i if in into is it its
    of on or she so than that the their them then there these they this to was we were
    what when which who will with you your""".split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for; ``text`` is the query as it will be shown and saved."""

    text: str
    words: tuple[str, ...] = ()  # lower case, any of them
    phrases: tuple[tuple[str, ...], ...] = ()  # each required, its words in order
    excluded: tuple[tuple[str, ...], ...] = ()  # words or phrases that must not appear
    sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    after: datetime | None = None  # on or after this instant
    before: datetime | None = None  # before this instant
    meaning: str = field(default="")  # the text to embed: words and phrases as typed

    @property
    def looks_for_text(self) -> bool:
        """Whether there is anything to match words or meaning against (a query of
        filters alone lists what they let through, newest first)."""
        return bool(self.words or self.phrases)

    @property
    def narrows(self) -> bool:
        """Whether anything beyond words limits the matches (what a match by meaning must
        then pass too): phrases, exclusions or filters."""
        return bool(
            self.phrases
            or self.excluded
            or self.sources
            or self.topics
            or self.sections
            or self.after
            or self.before
        )

    @property
    def terms(self) -> tuple[str, ...]:
        """Every word looked for, for highlighting."""
        return tuple(dict.fromkeys([*self.words, *(w for p in self.phrases for w in p)]))


_POSSESSIVE = re.compile(r"'s$")


def words_of(text: str) -> tuple[str, ...]:
    """``text``'s words, lower case, without a possessive "'s" ("Seoul's" is "seoul", as
    the indexes see it once they split at the apostrophe and stem)."""
    return tuple(
        _POSSESSIVE.sub("", m.group(0).lower().replace("’", "'")) for m in WORD.finditer(text)
    )


def parse(text: str) -> Query:
    """The :class:`Query` of a reader's text; :class:`~tidings.errors.BadQuery` when there
    is nothing to search for, it is too long, or a filter's value is not one."""
    if len(text) > MAX_CHARS:
        raise BadQuery(f"{len(text):,} characters; at most {MAX_CHARS}")
    text = " ".join(unicodedata.normalize("NFC", clean_text(text)).split())
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    chosen: dict[str, list[str]] = {name: [] for name in FILTERS}
    meaning: list[str] = []
    for match in _TOKEN.finditer(text):
        negative, name, quoted, bare = match.groups()
        if name is not None and name.lower() in FILTERS:
            if negative:
                raise BadQuery(f"-{name}: is not supported: narrow with {name}: or exclude words")
            value = (quoted if quoted is not None else bare or "").strip()
            if value:
                chosen[name.lower()].append(value)
            continue
        if name is not None:  # "word:thing" that is no filter: both are words
            bare = f"{name}:{bare or quoted or ''}"
            quoted = None
        found = words_of(quoted if quoted is not None else bare or "")
        if not found:
            continue
        if negative:
            excluded.append(found)
        elif quoted is not None and len(found) > 1:
            phrases.append(found)
            meaning.append(" ".join(found))
        else:
            words.extend(found)
            meaning.append(quoted if quoted is not None else (bare or ""))
    words = list(dict.fromkeys(words))
    kept = [w for w in words if w not in STOPWORDS] or words
    if len(kept) + len(phrases) > MAX_TERMS:
        kept = kept[: max(0, MAX_TERMS - len(phrases[:MAX_TERMS]))]
        phrases = phrases[:MAX_TERMS]
    query = Query(
        text=text,
        words=tuple(kept),
        phrases=tuple(dict.fromkeys(phrases)),
        excluded=tuple(dict.fromkeys(excluded))[:MAX_TERMS],
        sources=tuple(chosen["source"]),
        topics=tuple(chosen["topic"]),
        sections=tuple(chosen["section"]),
        after=_day(chosen["after"], "after"),
        before=_day(chosen["before"], "before"),
        meaning=" ".join(" ".join(meaning).split()),
    )
    if not (query.looks_for_text or query.sources or query.topics or query.sections):
        if query.after or query.before or query.excluded:
            raise BadQuery("give a word to look for, or source:, topic: or section:")
        raise BadQuery("empty: type a word to look for")
    return query


def _day(values: list[str], name: str) -> datetime | None:
    """The instant a ``before:``/``after:`` value names (the last one given): a date is its
    midnight UTC; ``after:`` includes that day and ``before:`` excludes it."""
    if not values:
        return None
    value = values[-1]
    try:
        if len(value) <= 10:
            moment = datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadQuery(f"{name}:{value} is not a date (write {name}:2014-03-10)") from None
    if not 1 < moment.year < 9999:  # the store's bounds, with a day to spare either side
        raise BadQuery(f"{name}:{value} is out of range")
    return moment
