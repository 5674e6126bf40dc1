"""How the pages show things: relative times, source badges, readable paragraphs, key
points that add something, and "Hidden and why" grouped by reason.

Pure functions of what the library returns, so each is tested without a server and the
templates stay free of logic.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tidings.models import Article
from tidings.understand.keypoints import split_sentences

if TYPE_CHECKING:
    from tidings.rank.feed import Filtered

BADGE_COLOURS = 8  # .badge-0 … .badge-7 in tidings.css (no inline styles under the CSP)
WALL = 900  # a paragraph longer than this, in characters, is cut at sentence ends
PIECE = 450  # … into pieces of about this length
SUMMARY_ONLY = 500  # an article this short in one paragraph is a feed's summary
SAME_POINT = 0.8  # share of a key point's words the first paragraph must say to repeat it
EXAMPLES = 3  # headlines shown per group on "Hidden and why"

_WORD = re.compile(r"[^\W_]+")


def ago(when: datetime | None, now: datetime) -> str:
    """``when`` relative to ``now`` (the feed's "now", the newest story's time when the store
    is an archive): "just now", "12 min ago", "3 h ago", "2 d ago", the date past a month;
    "undated" when the item gave no date."""
    if when is None:
        return "undated"
    seconds = (_aware(now) - _aware(when)).total_seconds()
    if seconds < 60:  # a little ahead of "now" (clocks, time zones) is still "just now"
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    if days < 31:
        return f"{days} d ago"
    return f"{when.day} {when:%b %Y}"


def full_date(when: datetime | None) -> str:
    """The whole date and time, for a tooltip: "Monday 10 March 2014, 09:05 UTC"."""
    if when is None:
        return "No date given by the source"
    when = _aware(when).astimezone(UTC)
    return f"{when:%A} {when.day} {when:%B %Y, %H:%M} UTC"


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def outlet(article: Article) -> str:
    """Who published it: the source's name, else the host of its address."""
    if article.source:
        return article.source
    host = urlsplit(article.url or article.canonical_url or "").hostname or ""
    return host.removeprefix("www.") or "the outlet"


def initial(name: str) -> str:
    """The badge letter of a source: its first letter or digit ("The Guardian" → "G")."""
    words = [w for w in _WORD.findall(name) if w.casefold() not in {"the", "a", "an"}]
    first = (words or _WORD.findall(name) or ["?"])[0]
    return first[0].upper()


def badge_colour(name: str) -> int:
    """A stable colour (0 … :data:`BADGE_COLOURS` − 1) per source name."""
    return zlib.crc32(name.casefold().encode()) % BADGE_COLOURS


def headline_only(article: Article) -> bool:
    """A headline with no text (an aggregator's item): its card links out to the outlet."""
    return not article.paragraphs and not article.key_points and bool(article.url)


def summary_only(article: Article) -> bool:
    """Only a feed's summary was stored: the page says so and points to the outlet."""
    return len(article.paragraphs) == 1 and len(article.paragraphs[0]) < SUMMARY_ONLY


def summary_line(article: Article) -> str:
    """One line under a card's headline: its first key point, else its first paragraph
    (the card clamps it), unless that only repeats the headline."""
    for text in [*article.key_points[:1], *article.paragraphs[:1]]:
        if not _repeats(text, article.title):
            return text if len(text) <= 300 else text[:299].rsplit(" ", 1)[0] + "…"
    return ""


def readable(paragraphs: Sequence[str]) -> list[str]:
    """The body in paragraphs: a wall of text (one long paragraph, as some sources give
    it) is cut at sentence ends into pieces of a few sentences."""
    out: list[str] = []
    for paragraph in paragraphs:
        if len(paragraph) <= WALL:
            out.append(paragraph)
            continue
        piece = ""
        for sentence in split_sentences(paragraph):
            if piece and len(piece) + len(sentence) > PIECE:
                out.append(piece)
                piece = ""
            piece = f"{piece} {sentence}" if piece else sentence
        if piece:
            out.append(piece)
    return out


def fresh_points(key_points: Iterable[str], paragraphs: Sequence[str]) -> list[str]:
    """Key points minus those the first paragraph already says (extracted key points are
    often its first sentence): a reader sees each thing once."""
    first = paragraphs[0] if paragraphs else ""
    return [p for p in key_points if not _repeats(p, first)]


def _repeats(point: str, text: str) -> bool:
    """Whether ``text`` already says ``point``: nearly all its words are in ``text``."""
    if not text:
        return False
    if point.strip().casefold() in text.casefold():
        return True
    words = [w.casefold() for w in _WORD.findall(point)]
    if not words:
        return True
    said = {w.casefold() for w in _WORD.findall(text)}
    return sum(w in said for w in words) / len(words) >= SAME_POINT


# -- "Hidden and why" -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Undo:
    """The one form that undoes a whole group: where it posts, what, and its label."""

    action: str
    fields: dict[str, str]
    label: str


@dataclass(slots=True)
class HiddenGroup:
    """Stories kept out of the feed for one reason, with a few of them as examples."""

    reason: str  # hidden | muted | read
    title: str  # "Muted: Sport"
    count: int
    examples: list[tuple[int, str]] = field(default_factory=list)  # (story id, headline)
    undo: Undo | None = None
    note: str = ""

    @property
    def more(self) -> int:
        return self.count - len(self.examples)


def group_hidden(
    filtered: Iterable[Filtered], mutes: Sequence[tuple[str, str]]
) -> list[HiddenGroup]:
    """``filtered`` (what the feed keeps out, with why) as one group per reason: the stories
    the reader hid, one group per muted topic or source (each muted target is listed, with
    its stories or none), and the ones already read. ``mutes``: (target, name) of what the
    reader mutes, ``target`` being what unmute takes ("sport", "source:The Guardian")."""
    hidden = HiddenGroup("hidden", "You hid these stories", 0)
    read = HiddenGroup(
        "read",
        "You already read these",
        0,
        note="Stories you opened stay out of your feed, so it keeps bringing you new ones.",
    )
    muted: dict[str, HiddenGroup] = {}
    for target, name in mutes:
        kind = "source" if target.startswith("source:") else "topic"
        muted[name] = HiddenGroup(
            "muted",
            f"Muted {kind}: {name}",
            0,
            undo=Undo("/unmute", {"topic": target}, f"Unmute {name}"),
        )
    for row in filtered:
        story = (row.story_id, row.headline)
        if row.reason == "hidden":
            group = hidden
        elif row.reason == "muted":
            name = row.text.removeprefix("You muted ").strip()
            group = muted.get(name) or muted.setdefault(
                name,
                HiddenGroup(
                    "muted",
                    f"Muted: {name}",
                    0,
                    undo=Undo("/unmute", {"topic": name}, f"Unmute {name}"),
                ),
            )
        else:
            group = read
        group.count += 1
        if len(group.examples) < EXAMPLES:
            group.examples.append(story)
    if hidden.count == 1:
        hidden.title = "You hid this story"
        hidden.undo = Undo("/hidden/unhide", {}, "Show again")
    elif hidden.count:
        hidden.title = "You hid these stories"
        hidden.undo = Undo("/hidden/unhide", {}, f"Show all {hidden.count} again")
    groups = [hidden, *sorted(muted.values(), key=lambda g: (-g.count, g.title)), read]
    return [g for g in groups if g.count or g.reason == "muted"]
