"""``tidings keys add``: a newsroom's API keys for server-to-server use."""

from __future__ import annotations

from typing import Annotated

import typer

from tidings.cli.common import Db, console, open_store

app = typer.Typer(help="A newsroom's API keys for server-to-server use.", no_args_is_help=True)


@app.command("add")
def keys_add(
    name: Annotated[str, typer.Argument(help="Who the key is for.")], db: Db = None
) -> None:
    """Make an API key (send it as X-API-Key). It is shown once: only its digest is kept."""
    with open_store(db) as tidings:
        key = tidings.add_api_key(name)
    console.print(key, soft_wrap=True, highlight=False)
