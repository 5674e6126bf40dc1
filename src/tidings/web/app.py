"""The FastAPI application over one store."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tidings.library import Tidings
from tidings.web import api, errors, limits, pages


def create_app(tidings: Tidings) -> FastAPI:
    """An app serving ``tidings``; the OpenAPI schema is at ``/openapi.json``."""
    app = FastAPI(
        title="tidings",
        summary="A personalised news feed of stories that matter to you.",
        version="1",
    )
    app.state.tidings = tidings
    errors.install(app)
    app.add_middleware(limits.BodyLimit)
    app.include_router(api.router)
    app.include_router(api.feeds)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.HERE / "static"), name="static")
    return app
