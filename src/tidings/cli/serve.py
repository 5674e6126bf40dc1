"""``tidings serve``: the web app and JSON API on 127.0.0.1:8000.

On a fresh store it first loads and understands the bundled demo corpus (with progress),
so a new user sees a working feed at once. Unless ``--no-poll``, a background thread keeps
the sources fresh (``tidings poll``) while it serves; unless ``--no-understand``, another
understands what comes in (``tidings work``), so a single machine needs nothing else.
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from tidings.cli.common import Db, console, open_store, run_understand
from tidings.cli.ingest import load_demo
from tidings.errors import TidingsError

app = typer.Typer()


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
    understand: Annotated[
        bool,
        typer.Option(
            "--understand/--no-understand",
            help="Understand new articles in the background while serving (as tidings work); "
            "--no-understand when tidings work runs elsewhere.",
        ),
    ] = True,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="The public address readers use, e.g. https://news.example; builds feed "
            "links and marks cookies Secure over HTTPS.",
        ),
    ] = None,
    db: Db = None,
) -> None:
    """Serve the JSON API (``/api/v1``, schema at ``/openapi.json``) and the pages."""
    import os

    import uvicorn

    from tidings import config
    from tidings.config import DATABASE_URL_ENV
    from tidings.web import create_app

    # Requests are ranked in parallel threads and processes: numeric libraries' own thread
    # pools on top only oversubscribe the cores. Set before they load (in the workers too).
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    if base_url is not None:  # read by the app (config.base_url), in the workers too
        try:
            os.environ[config.BASE_URL_ENV] = config.base_url(base_url)
        except TidingsError as exc:
            raise typer.BadParameter(str(exc), param_hint="--base-url") from exc
    tidings = open_store(db)
    if workers > 1 and ":memory:" in tidings.database_url:
        tidings.close()
        raise typer.BadParameter("an in-memory database cannot be shared by workers")
    if demo and tidings.article_count() == 0:
        console.print("An empty store: loading the demo corpus first.")
        load_demo(tidings, understand=True, quiet=False)
        if not understand:  # else the background worker takes what the pack did not cover
            run_understand(tidings, quiet=False)
    many = f", {workers} workers" if workers > 1 else ""
    console.print(
        f"Serving on http://{host}:{port}/ (API at /api/v1, schema at /openapi.json{many})"
    )
    if poll:  # one poller in this process, whatever the number of workers
        threading.Thread(
            target=tidings.poller(understand=False).run_forever,  # the worker below does
            args=(tidings.stopping,),  # tidings.shutdown() ends it
            kwargs={"on_error": lambda exc: console.print(f"[red]polling: {exc}[/red]")},
            name="tidings-poll",
            daemon=True,
        ).start()
    if understand:  # one understanding worker in this process too
        threading.Thread(
            target=tidings.work,
            args=(tidings.stopping,),  # tidings.shutdown() ends it after the batch under way
            kwargs={"on_error": lambda exc: console.print(f"[red]understanding: {exc}[/red]")},
            name="tidings-work",
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
        tidings.shutdown()
        tidings.close()
