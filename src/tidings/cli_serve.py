"""``tidings serve``: the web app and JSON API on 127.0.0.1:8000.

On a fresh store it first loads and understands the bundled demo corpus (with progress),
so a new user sees a working feed at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tidings.cli import Db, _open, _progress, _understand, app, console


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Load the demo corpus into an empty store.")
    ] = True,
    db: Db = None,
) -> None:
    """Serve the JSON API (``/api/v1``, schema at ``/openapi.json``)."""
    import uvicorn

    from tidings.web import create_app

    tidings = _open(db)
    if demo and tidings.article_count() == 0:
        console.print("An empty store: loading the Wikinews demo corpus first.")
        with _progress("Loading the Wikinews demo corpus", quiet=False) as progress:
            task = progress.add_task("demo", total=None)
            tidings.load_demo(
                progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
        _understand(tidings, quiet=False)
    console.print(f"Serving on http://{host}:{port}/ (API at /api/v1, schema at /openapi.json)")
    try:
        uvicorn.run(create_app(tidings), host=host, port=port, log_level="warning")
    finally:
        tidings.close()


keys_app = typer.Typer(help="A newsroom's API keys for server-to-server use.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("add")
def keys_add(
    name: Annotated[str, typer.Argument(help="Who the key is for.")], db: Db = None
) -> None:
    """Make an API key (send it as X-API-Key). It is shown once: only its digest is kept."""
    with _open(db) as tidings:
        key = tidings.add_api_key(name)
    console.print(key, soft_wrap=True, highlight=False)
