"""``tidings serve``: the web app and JSON API on 127.0.0.1:8000.

On a fresh store it first loads and understands the bundled demo corpus (with progress),
so a new user sees a working feed at once. Unless ``--no-poll``, a background thread keeps
the sources fresh (``tidings poll``) while it serves.
"""

from __future__ import annotations

import threading
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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes over the same database, each with its own caches (a feed "
            "is CPU-bound Python: one process uses about one core).",
        ),
    ] = 1,
    poll: Annotated[
        bool,
        typer.Option(
            "--poll/--no-poll",
            help="Keep the sources fresh in the background while serving (as tidings poll).",
        ),
    ] = True,
    db: Db = None,
) -> None:
    """Serve the JSON API (``/api/v1``, schema at ``/openapi.json``) and the pages."""
    import os

    import uvicorn

    from tidings.config import DATABASE_URL_ENV
    from tidings.web import create_app

    # Requests are ranked in parallel threads and processes: numeric libraries' own thread
    # pools on top only oversubscribe the cores. Set before they load (in the workers too).
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    tidings = _open(db)
    if workers > 1 and ":memory:" in tidings.database_url:
        tidings.close()
        raise typer.BadParameter("an in-memory database cannot be shared by workers")
    if demo and tidings.article_count() == 0:
        console.print("An empty store: loading the Wikinews demo corpus first.")
        with _progress("Loading the Wikinews demo corpus", quiet=False) as progress:
            task = progress.add_task("demo", total=None)
            tidings.load_demo(
                progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
        _understand(tidings, quiet=False)
    many = f", {workers} workers" if workers > 1 else ""
    console.print(
        f"Serving on http://{host}:{port}/ (API at /api/v1, schema at /openapi.json{many})"
    )
    stop = threading.Event()
    if poll:  # one poller in this process, whatever the number of workers
        threading.Thread(
            target=tidings.poller().run_forever,
            args=(stop,),
            kwargs={"on_error": lambda exc: console.print(f"[red]polling: {exc}[/red]")},
            name="tidings-poll",
            daemon=True,
        ).start()
    try:
        if workers == 1:
            app = create_app(tidings, serving=True)
            uvicorn.run(app, host=host, port=port, log_level="warning")
        else:
            # Each worker opens the store itself (tidings.web.app:factory), named here.
            os.environ[DATABASE_URL_ENV] = tidings.database_url
            tidings.close()
            uvicorn.run(
                "tidings.web.app:factory",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="warning",
            )
    finally:
        stop.set()
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
