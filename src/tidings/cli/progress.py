"""Progress of long work: counts, rate and time left, on a terminal and in plain logs alike.

On a terminal a rich bar redraws in place. When stderr is not a terminal (a service, a
container log, CI) a bar would print nothing useful for minutes, so a plain line goes out
every few seconds instead: ``Understanding articles: 640/8,866 (7%), 24/s, about 5 min left``.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

PLAIN_EVERY = 3.0  # seconds between plain log lines


class RateColumn(ProgressColumn):
    """Items per second, once there is a rate to show."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")


class Meter:
    """One long job's progress. Call it as the library's ``progress(done, total)`` callback,
    ``advance()`` it one item at a time, and ``print`` messages above it."""

    def __init__(
        self,
        description: str,
        *,
        quiet: bool = False,
        console: Console | None = None,
        every: float = PLAIN_EVERY,
    ) -> None:
        self.description = description
        self.console = console or Console(stderr=True, soft_wrap=True)
        self.quiet = quiet
        self.plain = not quiet and not self.console.is_terminal
        self.every = every
        self.done = 0
        self.total: int | None = None
        self._started = time.monotonic()
        self._last_line = 0.0
        self._bar = Progress(
            TextColumn(f"[bold]{description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeRemainingColumn(compact=True),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=quiet or self.plain,
        )
        self._task = self._bar.add_task(description, total=None)

    def __enter__(self) -> Meter:
        self._started = time.monotonic()
        self._bar.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._bar.__exit__(kind, error, trace)
        if self.plain and kind is None and self.done:
            self._line(final=True)

    def __call__(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total
        self._bar.update(self._task, completed=done, total=total)
        if self.plain and time.monotonic() - self._last_line >= self.every:
            self._line()

    def advance(self, count: int = 1) -> None:
        self(self.done + count, self.total)

    def print(self, message: str) -> None:
        self.console.print(message)

    def _line(self, *, final: bool = False) -> None:
        self._last_line = time.monotonic()
        print(plain_line(self.description, self.done, self.total, self._last_line - self._started,
                         final=final), file=self.console.file, flush=True)  # fmt: skip


def plain_line(
    description: str, done: int, total: int | None, seconds: float, *, final: bool = False
) -> str:
    """``Loading: 640/8,866 (7%), 24/s, about 5 min left`` — what a log line says."""
    count = f"{done:,}/{total:,} ({done / total:.0%})" if total else f"{done:,}"
    rate = done / seconds if seconds > 0 else 0.0
    parts = [f"{description}: {count}"]
    if rate:
        parts.append(f"{rate:,.0f}/s")
    if final:
        parts.append(f"done in {_duration(seconds)}")
    elif total and rate and done < total:
        parts.append(f"about {_duration((total - done) / rate)} left")
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if minutes < 10 and rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
