"""``tidings readers add|list|show|remove``: the people a feed is ranked for."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tidings.cli.common import AsJson, Db, console, open_store, print_json, reported

app = typer.Typer(help="The people a feed is ranked for.", no_args_is_help=True)

ReaderName = Annotated[str, typer.Argument(help="The reader's name.")]


@app.command("add")
def readers_add(
    name: ReaderName,
    follows: Annotated[
        list[str] | None,
        typer.Option("--follow", help="A topic to start with (repeat; see `tidings topics`)."),
    ] = None,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Add a reader, optionally with topics to follow from the start."""
    with open_store(db) as tidings, reported():
        reader = tidings.add_reader(name, follows=follows or [])
    if as_json:
        print_json(reader.to_dict())
    else:
        console.print(f"Added reader {escape(reader.name)} (id {reader.id})")


@app.command("list")
def readers_list(as_json: AsJson = False, db: Db = None) -> None:
    """Every reader."""
    with open_store(db) as tidings:
        readers = tidings.readers()
    if as_json:
        print_json([r.to_dict() for r in readers])
        return
    table = Table(title=f"{len(readers)} readers", title_justify="left")
    table.add_column("id", justify="right", style="cyan")
    table.add_column("name")
    table.add_column("since")
    for r in readers:
        table.add_row(str(r.id), escape(r.name), r.created.strftime("%Y-%m-%d"))
    console.print(table)


@app.command("show")
def readers_show(name: ReaderName, as_json: AsJson = False, db: Db = None) -> None:
    """What a reader follows and mutes."""
    with open_store(db) as tidings, reported():
        reader = tidings.reader(name)
        choices = tidings.following(name)
    if as_json:
        print_json({**reader.to_dict(), **choices})
        return
    console.print(f"[bold]{escape(reader.name)}[/] (id {reader.id})")
    console.print(f"follows: {escape(', '.join(choices['follows']) or '—')}")
    console.print(f"mutes:   {escape(', '.join(choices['mutes']) or '—')}")


@app.command("remove")
def readers_remove(name: ReaderName, db: Db = None) -> None:
    """Delete a reader and everything they did."""
    with open_store(db) as tidings, reported():
        reader = tidings.remove_reader(name)
    console.print(f"Removed reader {escape(reader.name)}")
