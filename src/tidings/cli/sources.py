"""``tidings sources …``: the feeds and sites polled, and OPML in and out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tidings.cli.common import (
    AsJson,
    Db,
    console,
    errors,
    fail,
    local_time,
    open_store,
    print_json,
    reported,
)

app = typer.Typer(help="The feeds and sites you follow.", no_args_is_help=True)


@app.command("add")
def sources_add(
    url: str,
    title: Annotated[str | None, typer.Option(help="A name to show for it.")] = None,
    db: Db = None,
) -> None:
    """Follow a feed or site."""
    with open_store(db) as tidings, reported():
        source, new = tidings.add_source(url, title=title)
    console.print(f"{'Added' if new else 'Already following'} source {source.id}: {source.url}")


@app.command("list")
def sources_list(as_json: AsJson = False, db: Db = None) -> None:
    """Every source you follow."""
    with open_store(db) as tidings:
        items = tidings.sources()
    if as_json:
        print_json([s.to_dict() for s in items])
        return
    table = Table(title=f"{len(items)} sources", title_justify="left")
    for column in ("id", "title", "url", "added", "last success"):
        table.add_column(column)
    table.add_column("last error", max_width=40, no_wrap=True, overflow="ellipsis")
    table.add_column("next poll")
    table.add_column("items/day", justify="right")
    table.add_column("full text")
    for s in items:
        h = s.health
        error = ""
        if h.last_error is not None:
            error = f"{local_time(h.last_error)} {escape(h.error or '')}"
            error = f"[red]{error}[/]" if h.errors else f"[dim]{error}[/]"
        table.add_row(
            str(s.id),
            escape(s.title or ""),
            escape(s.url),
            s.added.strftime("%Y-%m-%d"),
            local_time(h.last_success),
            error,
            local_time(h.next_poll) if h.next_poll else "now",
            f"{h.items_per_day:.1f}" if h.items_per_day is not None else "",
            s.full_text,
        )
    console.print(table)


@app.command("full-text")
def sources_full_text(
    id_or_url: str,
    mode: Annotated[
        str,
        typer.Argument(
            help="auto: fetch an entry's linked page when the feed gives only a summary; "
            "always: for every entry; never: keep what the feed gives."
        ),
    ],
    db: Db = None,
) -> None:
    """Choose whether polling fetches the pages a source's entries link to, for their full
    text."""
    with open_store(db) as tidings, reported():
        source = tidings.set_full_text(id_or_url, mode)
    console.print(f"Source {source.id} ({source.url}): full text {source.full_text}")


@app.command("remove")
def sources_remove(id_or_url: str, db: Db = None) -> None:
    """Stop following a source (its stored articles stay)."""
    with open_store(db) as tidings, reported():
        source = tidings.remove_source(id_or_url)
    console.print(f"Removed source {source.id}: {source.url}")


@app.command("import")
def sources_import(path: Path, db: Db = None) -> None:
    """Follow every feed in an OPML file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from exc
    with open_store(db) as tidings, reported():
        imported = tidings.import_opml(data, name=str(path))
    new = sum(1 for _, is_new in imported if is_new)
    console.print(f"{len(imported)} feeds in {path}: {new} new, {len(imported) - new} known")
    for warning in imported.warnings:  # over the cap: how many were left out
        errors.print(f"[yellow]warning:[/] {escape(warning)}")


@app.command("export")
def sources_export(
    path: Annotated[Path | None, typer.Argument(help="File to write (default: stdout).")] = None,
    db: Db = None,
) -> None:
    """Write your sources as OPML, for any other feed reader."""
    with open_store(db) as tidings:
        document = tidings.export_opml()
    if path is None:
        sys.stdout.write(document)
    else:
        path.write_text(document, encoding="utf-8")
        errors.print(f"Wrote {path}")
