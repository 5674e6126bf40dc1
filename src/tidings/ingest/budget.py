"""A per-document CPU-time budget, so no single feed, page or capture can pin a core.

Every parser is linear in its input after flattening (:mod:`tidings.ingest.markup`), but a
20 MB document of many entries still takes time, and one that runs out of budget should cost
the reader its tail, not the whole source, and never stall a poll. Parsers check
:attr:`Budget.exhausted` between entries (and between the fields of one), skip what is left
and say so in a warning.

The clock is the calling thread's CPU time: a busy machine or other threads of the web app
do not eat into one document's budget, and time spent waiting on nothing does not count.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["DOCUMENT_SECONDS", "Budget"]

# CPU seconds one document may take to read. The aim is under 2 s on one core for any input
# within the 20 MB cap; a real feed of a few hundred entries takes well under 0.5 s.
DOCUMENT_SECONDS = 1.5


class Budget:
    """CPU time one document may still spend being read."""

    def __init__(
        self, seconds: float = DOCUMENT_SECONDS, clock: Callable[[], float] = time.thread_time
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._start = clock()

    @property
    def spent(self) -> float:
        return self._clock() - self._start

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.seconds

    def past(self, share: float) -> bool:
        """Whether more than ``share`` of the budget is spent: for a step that must leave
        time for the steps after it."""
        return self.spent >= self.seconds * share

    def describe(self) -> str:
        """The limit, for a warning: "the 1.5 s allowed per document"."""
        return f"the {self.seconds:g} s of CPU time allowed per document"
