"""``tidings poll``: fetch the sources that are due, once (``--once``) or for as long as it
runs. Any number of ``tidings poll`` processes may share one PostgreSQL store: each source
is claimed under a lease by one of them at a time (see :mod:`tidings.poll.leases`)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tidings.cli.common import (
    AsJson,
    Db,
    Understand,
    console,
    errors,
    meter,
    open_store,
    print_json,
    run_understand,
)
from tidings.poll import Poller, PollReport, SourceOutcome

app = typer.Typer()


@app.command()
def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll what is due now, then stop.")] = False,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every source now, schedules ignored (still a conditional GET); one round.",
        ),
    ] = False,
    threads: Annotated[
        int,
        typer.Option(
            "--worker-threads",
            "--workers-threads",
            min=1,
            max=64,
            help="Fetches at once in this worker.",
        ),
    ] = 8,
    per_host: Annotated[
        int, typer.Option(min=1, max=64, help="Fetches at once to one host, in this worker.")
    ] = 2,
    lease_seconds: Annotated[
        float,
        typer.Option(min=1.0, help="How long a claimed source stays this worker's if it dies."),
    ] = 300.0,
    understand: Understand = True,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Fetch every source that is due: each on its own schedule, adapted to how often it
    publishes, backing off on errors. Without --once it keeps polling until interrupted."""
    everything_once = once or everything
    with open_store(db) as tidings:
        poller = tidings.poller(
            threads=threads,
            per_host=per_host,
            lease_seconds=lease_seconds,
            understand=False,  # run here, with its own progress bar
        )
        if everything_once:
            report = _poll_once(poller, everything=everything, quiet=as_json)
            if understand and (report.added or report.updated):
                report.understood = run_understand(tidings, quiet=as_json).articles
            if as_json:
                print_json(report.to_dict())
            else:
                _print_report(report)
            if report.outcomes and report.errors == len(report.outcomes):
                raise typer.Exit(1)
            return
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())

        def on_round(report: PollReport) -> None:
            if understand and (report.added or report.updated):
                report.understood = tidings.understand().articles
            if as_json:
                print_json(report.to_dict())
            else:
                stamp = datetime.now(UTC).astimezone().strftime("%H:%M:%S")
                console.print(f"[dim]{stamp}[/] {_summary(report)}")
                _print_errors(report)

        def on_error(exc: Exception) -> None:
            errors.print(f"[red]error:[/] polling failed, trying again: {escape(str(exc))}")

        if not as_json:
            console.print(
                f"Polling as {poller.owner} ({threads} threads, {per_host} per host); "
                "Ctrl-C to stop."
            )
        try:
            poller.run_forever(stop, on_round=on_round, on_error=on_error)
        except KeyboardInterrupt:
            stop.set()
            poller.release()
        finally:
            signal.signal(signal.SIGTERM, previous)


def _poll_once(poller: Poller, *, everything: bool, quiet: bool) -> PollReport:
    total = poller.due_count(everything=everything)
    with meter("Polling sources", quiet=quiet) as progress:
        progress(0, total or None)

        def on_outcome(outcome: SourceOutcome) -> None:
            progress.advance()
            if outcome.status == "error" and not quiet:
                progress.print(
                    f"[red]error:[/] {escape(outcome.url)}: {escape(outcome.error or '')}"
                )

        return poller.run_once(everything=everything, progress=on_outcome)


def _summary(report: PollReport) -> str:
    return (
        f"{len(report.outcomes)} sources polled in {report.seconds:.1f} s: "
        f"{report.fetched} fetched, {report.not_modified} not modified, "
        + (f"[red]{report.errors} errors[/], " if report.errors else "0 errors, ")
        + f"[green]{report.added} new articles[/], {report.updated} updated"
    )


def _print_errors(report: PollReport) -> None:
    for o in report.outcomes:
        if o.status == "error":
            errors.print(f"[red]error:[/] {escape(o.url)}: {escape(o.error or '')}")


def _print_report(report: PollReport) -> None:
    if not report.outcomes:
        console.print("No source is due.")
        return
    table = Table(title=f"{len(report.outcomes)} sources polled", title_justify="left")
    for column in ("fetched", "not modified", "errors", "new articles", "updated", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(
        str(report.fetched),
        str(report.not_modified),
        f"[red]{report.errors}[/]" if report.errors else "0",
        f"[green]{report.added}[/]",
        str(report.updated),
        f"{report.seconds:.1f}",
    )
    console.print(table)
