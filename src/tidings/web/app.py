"""The FastAPI application over one store."""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from tidings import config
from tidings.library import Tidings
from tidings.web import (
    api,
    errors,
    etags,
    fever,
    greader,
    headers,
    limits,
    pages,
    search_pages,
    throttle,
)


def create_app(
    tidings: Tidings,
    *,
    serving: bool = False,
    owned: bool = False,
    base_url: str | None = None,
) -> FastAPI:
    """An app serving ``tidings``; the OpenAPI schema is at ``/openapi.json``, its docs at
    ``/docs`` and ``/redoc``.

    ``serving`` (``tidings serve``): numeric libraries are held to one thread, and the
    feed's story pool and scorer load in a background thread, so connections are accepted
    at once (``/healthz``) and the first readers are served as soon as they come, if more
    slowly; ``/readyz`` answers 503 until that is done. On shutdown, how feeds were made is
    printed. ``owned``: close the store on shutdown (a worker process that opened it
    itself). ``base_url``: the public address links are built on (default
    :func:`tidings.config.base_url`).
    """
    ready = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if serving:
            _one_thread_each()
            # Feed impressions are written in batches off the request path (a crash loses
            # at most the last half second of them; a reader's actions are never queued).
            tidings.feeds.impressions.defer()
            threading.Thread(
                target=_warm, args=(tidings, ready), name="tidings-warm", daemon=True
            ).start()
        else:
            ready.set()
        try:
            yield
        finally:
            if serving:  # background work (polling, fetching new sources) stops between steps
                tidings.shutdown()
                tidings.feeds.close()  # the impressions still queued
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
        docs_url=None,  # served from packaged assets, not a CDN: headers.install_docs
        redoc_url=None,
    )
    app.state.tidings = tidings
    app.state.base_url = config.base_url(base_url)
    app.state.secure_cookies = app.state.base_url.startswith("https://")
    app.state.password_guard = throttle.PasswordGuard()
    app.state.ready = ready
    errors.install(app)
    # The last added runs first: the size limit before anything reads a body.
    app.add_middleware(etags.ConditionalGet)
    app.add_middleware(limits.NulGuard)
    app.add_middleware(limits.BodyLimit)
    app.add_middleware(headers.SecurityHeaders, https=app.state.secure_cookies)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Alive: the process accepts and answers requests (from the first moment)."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """Ready: the feed's pool and scorer are loaded, so feeds are served at full speed."""
        if ready.is_set():
            return JSONResponse({"status": "ready"})
        body = errors.error_body(503, "warming up: the story pool and scorer are loading")
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Where browsers look for the icon whatever a page links (pages link the SVG)."""
        return FileResponse(
            pages.HERE / "static" / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.include_router(api.router)
    app.include_router(api.feeds)
    app.include_router(pages.router)
    app.include_router(search_pages.router)
    app.include_router(fever.router)
    app.include_router(greader.router)
    headers.install_docs(app)
    app.mount("/static", StaticFiles(directory=pages.HERE / "static"), name="static")
    return app


def _warm(tidings: Tidings, ready: threading.Event) -> None:
    """Load the feed's pool and scorer, then search's meaning index; requests meanwhile
    build what they need themselves (the feed builder serialises that), so none is refused.
    A failure is printed, not fatal: each request then tries again."""
    try:
        tidings.feeds.warm()
    except Exception:  # the server keeps serving; the cause is printed
        traceback.print_exc()
    finally:
        ready.set()
    try:  # the first search then finds the article embeddings in memory already
        tidings.searcher.warm()
    except Exception:
        traceback.print_exc()


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
