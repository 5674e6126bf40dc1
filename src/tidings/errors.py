"""Typed exceptions. Every failure a user can cause names the input and the problem."""

from __future__ import annotations


class TidingsError(Exception):
    """Base class of every error tidings raises on purpose."""


class ParseError(TidingsError):
    """An input could not be read as the kind it was taken for; the message says why."""


class InputError(TidingsError):
    """One input failed as a whole. ``str()`` gives ``"<input>: <problem>"``."""

    def __init__(self, input: str, problem: str) -> None:
        super().__init__(f"{input}: {problem}")
        self.input = input
        self.problem = problem


class Conflict(InputError):
    """An input clashes with something already stored (a taken name): the web answers 409
    rather than 422, since the same input may be fine another time."""


class FetchError(TidingsError):
    """A URL could not be fetched (refused, timed out, too large, HTTP error)."""


class NotFound(TidingsError):
    """No stored object has that id."""


def describe(exc: BaseException, limit: int = 300) -> str:
    """An unexpected error in a few words, for a message naming the input it hit: its type
    and what it says (a database error's own reason, not the statement and its parameters),
    cut to ``limit`` characters and safe to show (no control characters or lone surrogates,
    since the message may quote the input)."""
    from tidings.safety import clean_text

    reason = getattr(exc, "orig", None) or exc
    return clean_text(f"{type(exc).__name__}: {reason}"[:limit])


class BadQuery(InputError):
    """A search query that cannot be run as written (empty, too long, a filter value that
    is not one); ``str()`` says what to change. Odd punctuation is never one of these."""

    def __init__(self, problem: str) -> None:
        super().__init__("query", problem)
