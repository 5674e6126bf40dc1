"""What every ``tidings`` command shares: the consoles, the common options, opening the
store, progress bars, and turning a library error into a clean message and exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tidings.cli.progress import Meter
from tidings.errors import TidingsError
from tidings.library import Tidings
from tidings.models import Article

if TYPE_CHECKING:
    from tidings.understand.pipeline import UnderstandReport

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # messages stay whole lines for grep

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="TIDINGS_DATABASE_URL",
        help="Database URL (sqlite:///file.db, postgresql+psycopg://…) or a SQLite file path.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Understand = Annotated[
    bool,
    typer.Option(
        "--understand/--no-understand",
        help="Find entities, sections, key points and stories for the new articles.",
    ),
]


def meter(description: str, *, quiet: bool) -> Meter:
    """Progress on stderr (a bar on a terminal, log lines otherwise), so stdout stays clean
    for ``--json``."""
    return Meter(description, quiet=quiet, console=errors)


def run_understand(tidings: Tidings, *, everything: bool = False, quiet: bool) -> UnderstandReport:
    """Understand new (or all) articles with progress: the models take minutes."""
    with meter("Understanding articles", quiet=quiet) as progress:
        return tidings.understand(everything=everything, progress=progress)


def open_store(db: str | None) -> Tidings:
    """The store ``--db`` names; exit code 2 with the reason if it cannot be opened."""
    try:
        return Tidings(db)
    except Exception as exc:  # a wrong URL or an unreachable server: say which
        errors.print(f"[red]error:[/] cannot open the database {db or ''}: {exc}")
        raise typer.Exit(2) from exc


def print_json(value: Any) -> None:
    """One JSON document per line on stdout, for scripts."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


@contextmanager
def reported() -> Iterator[None]:
    """Turn a library error (unknown id, bad input) into a clean message and exit code 1."""
    try:
        yield
    except TidingsError as exc:
        raise fail(str(exc)) from exc


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error and give the exit to raise (code 1)."""
    errors.print(f"[red]error:[/] {escape(message)}")
    return typer.Exit(1)


def articles_table(items: list[Article], title: str) -> Table:
    """Articles one per row (``demo`` and ``articles list`` show the same table)."""
    table = Table(title=title, title_justify="left")
    table.add_column("id", justify="right", style="cyan")
    table.add_column("published", no_wrap=True)
    table.add_column("source", max_width=24)
    table.add_column("title")
    table.add_column("topics", max_width=30, style="magenta")
    for article in items:
        table.add_row(
            str(article.id),
            article.published.strftime("%Y-%m-%d %H:%M") if article.published else "",
            escape(article.source or ""),
            escape(article.title),
            escape(topic_summary(article)),
        )
    return table


def topic_summary(article: Article, most: int = 5) -> str:
    """The first few topics (labels, section, most-mentioned entities) for a table cell."""
    names = [t.name for t in article.topics]
    more = f" +{len(names) - most}" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def local_time(moment: datetime | None) -> str:
    """A time in the local zone: the hour alone if today, else the date and the hour."""
    if moment is None:
        return ""
    local = moment.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
