"""The names the Google Reader API gives things, read and written: item ids (short decimal
and ``tag:google.com,2005:reader/item/<16 hex>``), stream ids (``feed/<url>``,
``user/-/label/<folder>``, ``user/-/state/com.google/<state>``) and times in seconds or
microseconds. Pure: nothing here reads the store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tidings.errors import InputError

LONG_PREFIX = "tag:google.com,2005:reader/item/"
READING_LIST = "user/-/state/com.google/reading-list"
STARRED = "user/-/state/com.google/starred"
READ = "user/-/state/com.google/read"
KEPT_UNREAD = "user/-/state/com.google/kept-unread"
LABEL = "user/-/label/"
FOR_YOU = "For you"
MAX_ID = 2**63 - 1
_LONG = re.compile(r"[0-9a-fA-F]{1,16}")
_SHORT = re.compile(r"-?[0-9]{1,20}")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() passes "²", which int() refuses
_USER = re.compile(r"user/(?:-|\d{1,19})/")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def label(name: str) -> str:
    """The stream id of a folder (or of "For you")."""
    return f"{LABEL}{name}"


def long_id(article_id: int) -> str:
    return f"{LONG_PREFIX}{article_id:016x}"


def item_id(text: str, *, field: str = "i") -> int:
    """An article id from either form; :class:`InputError` naming ``field`` otherwise. A
    short id is a signed 64-bit number: a negative one is the long id's high half set."""
    value = text.strip()
    if value.startswith(LONG_PREFIX):
        hexa = value[len(LONG_PREFIX) :]
        if _LONG.fullmatch(hexa):
            number = int(hexa, 16)
            if 0 < number <= MAX_ID:
                return number
    elif _SHORT.fullmatch(value):
        number = int(value)
        if 0 < number <= MAX_ID:
            return number
    raise InputError(field, f"{value[:60]!r} is not an item id")


def state_name(stream_id: str) -> str | None:
    """``read`` of ``user/123/state/com.google/read`` (any user, or "-"); None otherwise."""
    text = stream_id.strip()
    found = _USER.match(text)
    if found is None:
        return None
    rest = text[found.end() :]
    return rest.removeprefix("state/com.google/") if rest.startswith("state/com.google/") else None


def label_name(stream_id: str) -> str | None:
    """``Tech`` of ``user/-/label/Tech`` (any user); None when it is no label."""
    text = stream_id.strip()
    found = _USER.match(text)
    if found is None or not text[found.end() :].startswith("label/"):
        return None
    return text[found.end() + len("label/") :].strip() or None


@dataclass(frozen=True, slots=True)
class StreamId:
    """What a stream id names: one of ``reading-list``, ``starred``, ``read``, ``feed``
    (with ``value`` the feed's URL or source id), ``label`` (the folder's name) or
    ``for-you`` (the ranked feed)."""

    kind: str
    value: str = ""


_STATES = {"reading-list": "reading-list", "starred": "starred", "read": "read"}


def stream(text: str, *, field: str = "s") -> StreamId:
    """The stream a client names; :class:`InputError` naming ``field`` for one that is no
    stream id at all (an unknown feed or folder is the caller's 404)."""
    value = text.strip()
    if value.startswith("feed/") and len(value) > len("feed/"):
        return StreamId("feed", value[len("feed/") :])
    state = state_name(value)
    if state in _STATES:
        return StreamId(_STATES[state])
    label = label_name(value)
    if label is not None:
        if label.casefold() == FOR_YOU.casefold():
            return StreamId("for-you")
        return StreamId("label", label)
    raise InputError(field, f"{value[:80]!r} is not a stream this server has")


def time_from(text: str | None, *, field: str) -> datetime | None:
    """A time a client sends: seconds since 1970, or microseconds (16 digits or more, as
    ``ts`` of mark-all-as-read is). None when absent or empty."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if not _DIGITS.fullmatch(value) or len(value) > 19:
        raise InputError(field, f"{value[:40]!r} is not a time in seconds or microseconds")
    number = int(value)
    try:
        if len(value) >= 16:
            return _EPOCH + timedelta(microseconds=number)
        return _EPOCH + timedelta(seconds=number)
    except OverflowError:
        raise InputError(field, f"{value[:40]!r} is out of range") from None


def count(text: str | None, *, field: str = "n", default: int, most: int) -> int:
    """A page size: ``default`` when absent, at most ``most``."""
    if text is None or not text.strip():
        return default
    value = text.strip()
    if not _DIGITS.fullmatch(value) or len(value) > 9 or int(value) < 1:
        raise InputError(field, f"{value[:40]!r} is not a count of 1 or more")
    return min(int(value), most)
