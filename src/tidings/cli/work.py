"""``tidings work``: understand articles as they come in, for as long as it runs (``--once``:
what waits now). Any number of ``tidings work`` processes, on any number of machines, may
share one PostgreSQL store: each claims batches of articles under a lease (see
:mod:`tidings.store.claims`), and a killed worker's batch is taken over when its lease
expires."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from tidings.cli.common import AsJson, Db, console, errors, meter, open_store, print_json
from tidings.cli.progress import Meter
from tidings.library import Tidings
from tidings.poll.poller import worker_name
from tidings.understand.pipeline import BATCH_SIZE, UnderstandReport
from tidings.understand.worker import IDLE_SECONDS, LEASE_SECONDS

app = typer.Typer()

BatchSize = Annotated[
    int, typer.Option(min=1, max=10_000, help="Articles claimed and understood at a time.")
]
LeaseSeconds = Annotated[
    float,
    typer.Option(
        min=1.0,
        help="How long a claimed batch stays this worker's if it dies (renewed while it works).",
    ),
]


@app.command()
def work(
    once: Annotated[
        bool, typer.Option("--once", help="Understand what waits now, then stop.")
    ] = False,
    batch_size: BatchSize = BATCH_SIZE,
    lease_seconds: LeaseSeconds = LEASE_SECONDS,
    idle: Annotated[
        float, typer.Option(min=0.1, help="Seconds between looks for new articles when idle.")
    ] = IDLE_SECONDS,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Understand new and changed articles (entities, section, embedding, key points,
    story) as they arrive. Run one per machine, or several: they share the work."""
    with open_store(db) as tidings:
        report = follow(
            tidings,
            once=once,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            idle=idle,
            as_json=as_json,
        )
    if once and not as_json:
        console.print(_summary(report))
    if once and as_json:
        print_json(report.to_dict())


def follow(
    tidings: Tidings,
    *,
    once: bool = False,
    batch_size: int = BATCH_SIZE,
    lease_seconds: float = LEASE_SECONDS,
    idle: float = IDLE_SECONDS,
    as_json: bool = False,
) -> UnderstandReport:
    """The loop of ``tidings work`` (and ``tidings understand --follow``): a line per
    round, a progress bar while a backlog is worked through, until Ctrl-C or SIGTERM
    (the batch under way is finished first)."""
    owner = worker_name()
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    bar: Meter | None = None

    def progress(done: int, waiting: int) -> None:
        nonlocal bar
        if bar is None and done == 0 and waiting > batch_size:  # a backlog: show the way
            bar = meter("Understanding articles", quiet=as_json).__enter__()
        if bar is not None:
            bar(done, waiting)

    def close_bar() -> None:
        nonlocal bar
        if bar is not None:
            bar.__exit__(None, None, None)
            bar = None

    def on_round(report: UnderstandReport) -> None:
        close_bar()
        if as_json:
            print_json(report.to_dict())
        elif not once:
            stamp = datetime.now(UTC).astimezone().strftime("%H:%M:%S")
            console.print(f"[dim]{stamp}[/] {_summary(report)}")
        for warning in report.warnings:
            errors.print(f"[yellow]warning:[/] {escape(warning)}")

    def on_error(exc: Exception) -> None:
        close_bar()
        errors.print(f"[red]error:[/] understanding failed, trying again: {escape(str(exc))}")

    if not as_json and not once:
        console.print(
            f"Understanding as {owner} (batches of {batch_size}, lease {lease_seconds:g} s); "
            "Ctrl-C to stop."
        )
    try:
        return tidings.work(
            stop,
            once=once,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            idle=idle,
            owner=owner,
            progress=progress,
            on_round=None if once and as_json else on_round,
            on_error=on_error,
        )
    except KeyboardInterrupt:  # the batch under way was given back
        stop.set()
        return UnderstandReport()
    finally:
        close_bar()
        signal.signal(signal.SIGTERM, previous)


def _summary(report: UnderstandReport) -> str:
    rate = f" ({report.articles / report.seconds:.1f}/s)" if report.seconds else ""
    return (
        f"{report.articles} articles understood in {report.seconds:.1f} s{rate}: "
        f"{report.stories_started} new stories, {report.stories_joined} joined a story"
    )
