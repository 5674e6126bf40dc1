"""The FastAPI application over one store."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tidings.library import Tidings
from tidings.web import api, errors, limits, pages


def create_app(tidings: Tidings, *, serving: bool = False, owned: bool = False) -> FastAPI:
    """An app serving ``tidings``; the OpenAPI schema is at ``/openapi.json``.

    ``serving`` (``tidings serve``): before the first request, numeric libraries are held
    to one thread and the feed's story pool and scorer are loaded, so no reader waits for
    them; on shutdown, how feeds were made is printed. ``owned``: close the store on
    shutdown (a worker process that opened it itself).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if serving:
            _one_thread_each()
            tidings.feeds.warm()  # blocking, on purpose: nothing is served until it is done
        try:
            yield
        finally:
            if serving and tidings.feeds.stats:
                made = ", ".join(f"{n} {how}" for how, n in sorted(tidings.feeds.stats.items()))
                print(f"tidings feeds (process {os.getpid()}): {made}", file=sys.stderr)
            if owned:
                tidings.close()

    app = FastAPI(
        title="tidings",
        summary="A personalised news feed of stories that matter to you.",
        version="1",
        lifespan=lifespan,
    )
    app.state.tidings = tidings
    errors.install(app)
    app.add_middleware(limits.BodyLimit)
    app.include_router(api.router)
    app.include_router(api.feeds)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.HERE / "static"), name="static")
    return app


def factory() -> FastAPI:
    """The app of one ``tidings serve --workers N`` process: it opens the store that
    ``TIDINGS_DATABASE_URL`` names (the parent process has migrated it already)."""
    return create_app(Tidings(), serving=True, owned=True)


def _one_thread_each() -> None:
    """Hold BLAS and OpenMP to one thread in this process. Requests are served by parallel
    threads (and processes); library threads on top of them only oversubscribe the cores —
    under load a 1,000 × 384 product took 20 ms with OpenBLAS's two spinning threads and
    0.3 ms with one. (``tidings serve`` also sets the environment variables, for libraries
    loaded later.)"""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    threadpool_limits(1)
