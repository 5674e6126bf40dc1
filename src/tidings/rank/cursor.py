"""Feed cursors: a place in a reader's ranked snapshot, ``<snapshot>-<position>``.

A cursor names the snapshot the first page was ranked into (kept in the database, so any
worker serves the next page) and how far into it the reader has paged. Paging on reads the
same order, so no story repeats and none is skipped while articles arrive; stories hidden,
muted or read since are passed over. A cursor whose snapshot has expired (older than a day,
or pruned: a reader keeps their newest few) or is another reader's is refused with
:class:`StaleCursor`, which says to start again from the first page: the web answers 422
naming ``cursor``. The offset cursors of earlier versions (a bare number) are refused the
same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.errors import InputError
from tidings.safety import MAX_INT64

_FORM = re.compile(r"(\d{1,19})-(\d{1,9})")


class StaleCursor(InputError):
    """A well-formed cursor whose snapshot is gone: load the first page again."""

    def __init__(self) -> None:
        super().__init__(
            "cursor",
            "this feed page has expired (its ranking is over a day old or was replaced): "
            "load the feed again from its first page",
        )


@dataclass(frozen=True, slots=True)
class Place:
    snapshot: int
    position: int  # stories of the snapshot already paged past

    def __str__(self) -> str:
        return f"{self.snapshot}-{self.position}"


def parse(cursor: str) -> Place:
    """The place a cursor names; :class:`InputError` naming ``cursor`` when it is not one."""
    text = cursor.strip()
    if text.isdigit():
        raise InputError(
            "cursor",
            f"{text!r} is an offset cursor of an earlier version: load the feed again from "
            "its first page and use that page's next_cursor",
        )
    found = _FORM.fullmatch(text)
    if found is None or not 0 < int(found[1]) <= MAX_INT64:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise InputError("cursor", f"{shown!r} is not a feed cursor (use a page's next_cursor)")
    return Place(int(found[1]), int(found[2]))
