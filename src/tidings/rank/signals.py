"""What a reader can tell us, and what each kind of event means for their feed. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    # implicit: the reader's behaviour
    IMPRESSION = "impression"  # a story was shown in their feed
    OPEN = "open"  # they opened an article
    UNREAD = "unread"  # they marked it unread again (in an RSS app): its story comes back
    DWELL = "dwell"  # they spent ``value`` seconds on an article
    SHARE = "share"
    # explicit, about one story
    SAVE = "save"
    UNSAVE = "unsave"
    HIDE = "hide"
    UNHIDE = "unhide"
    FEWER_LIKE = "fewer_like"  # "fewer like this"
    # explicit, about a topic ("north-korea") or a source ("source:The Guardian")
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    MUTE = "mute"
    UNMUTE = "unmute"


ABOUT_TARGET = frozenset({Kind.FOLLOW, Kind.UNFOLLOW, Kind.MUTE, Kind.UNMUTE})
# Undo pairs: the later of the two wins.
STATE_KINDS = frozenset({Kind.SAVE, Kind.UNSAVE, Kind.HIDE, Kind.UNHIDE} | set(ABOUT_TARGET))
# What the profile is made of (besides the state kinds above), and "unread", read with the
# opens it undoes (the same newest window of them).
READING_KINDS = frozenset({Kind.OPEN, Kind.UNREAD, Kind.DWELL, Kind.SHARE, Kind.FEWER_LIKE})
# How much an interaction says "more like this" (dwell adds up to DWELL_CAP on top).
INTEREST = {Kind.OPEN: 1.0, Kind.SAVE: 2.0, Kind.SHARE: 2.0}
DWELL_SECONDS_FOR_ONE = 60.0  # a minute's reading counts as much as one more open
DWELL_CAP = 2.0
# Popularity counts these as clicks.
CLICKS = frozenset({Kind.OPEN, Kind.SAVE, Kind.SHARE})


@dataclass(frozen=True, slots=True)
class Event:
    kind: Kind
    created: datetime
    article_id: int | None = None
    story_id: int | None = None
    target: str | None = None
    value: float | None = None
    request: str | None = None
    id: int = 0


class Muted(str):
    """What muting answers: the display name of what was muted (a ``str``, as every choice
    answers), and whether the reader followed it until then — a mute replaces a follow, and
    the reader is told so rather than finding it silently gone."""

    unfollowed: bool

    def __new__(cls, name: str, *, unfollowed: bool) -> Muted:
        muted = super().__new__(cls, name)
        muted.unfollowed = unfollowed
        return muted

    @property
    def message(self) -> str:
        note = " (you no longer follow it)" if self.unfollowed else ""
        return f"Muted {self}{note}"
