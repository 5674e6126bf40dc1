"""``tidings readers add|list|show|remove``: the people a feed is ranked for; and their app
passwords (``app-password``, ``app-passwords``, ``revoke-app-password``), which native RSS
apps sign in with."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tidings import config
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


@app.command("app-password")
def readers_app_password(
    name: ReaderName,
    label: Annotated[
        str, typer.Option("--label", help="What it is for, e.g. the app and device.")
    ] = "",
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Make a password for a native RSS app (Google Reader API or Fever): shown only now."""
    with open_store(db) as tidings, reported():
        made, password = tidings.add_app_password(name, label)
        reader = tidings.reader(name)
        server = config.base_url()
    if as_json:
        print_json({**made.to_dict(), "password": password, "reader": reader.name})
        return
    console.print(f"App password {made.id} for {escape(reader.name)}: [bold]{password}[/]")
    console.print("It will not be shown again: copy it now.", style="yellow")
    console.print(
        f"In your app: name {escape(reader.name)}, this password, and the server "
        f"{escape(server)}/api/greader (Google Reader API or FreshRSS account) or "
        f"{escape(server)}/api/fever/ (Fever)."
    )


@app.command("app-passwords")
def readers_app_passwords(name: ReaderName, as_json: AsJson = False, db: Db = None) -> None:
    """A reader's app passwords: label, created, last used (never the passwords)."""
    with open_store(db) as tidings, reported():
        made = tidings.app_passwords(name)
    if as_json:
        print_json([p.to_dict() for p in made])
        return
    table = Table(title=f"{len(made)} app passwords", title_justify="left")
    table.add_column("id", justify="right", style="cyan")
    table.add_column("label")
    table.add_column("created")
    table.add_column("last used")
    for p in made:
        used = p.last_used.strftime("%Y-%m-%d %H:%M") if p.last_used else "never"
        table.add_row(str(p.id), escape(p.label), p.created.strftime("%Y-%m-%d %H:%M"), used)
    console.print(table)


@app.command("revoke-app-password")
def readers_revoke_app_password(
    name: ReaderName,
    password_id: Annotated[str, typer.Argument(metavar="ID", help="The app password's id.")],
    db: Db = None,
) -> None:
    """Revoke an app password: the apps signed in with it stop working."""
    with open_store(db) as tidings, reported():
        gone = tidings.revoke_app_password(name, password_id)
    label = f" ({escape(gone.label)})" if gone.label else ""
    console.print(f"Revoked app password {gone.id}{label} of {escape(name)}")
