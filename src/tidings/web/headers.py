"""Security headers on every answer, and the API docs served without any CDN.

Pages run no inline script and no inline style: the only script is a same-origin static
file, so the Content-Security-Policy can forbid everything else, and a story or article
title that smuggled markup past escaping still could not run. Article photos come from
their outlets, hence ``img-src http: https:``. ``/docs`` (Swagger UI) and ``/redoc`` load
their assets from the ``fastapi-offline`` package under ``/static/docs``; their one inline
script is allowed by its hash, and their inline styles (both inject them) on those pages
only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: http: https:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
DOCS_ASSETS = "/static/docs"


class SecurityHeaders:
    """Add :data:`HEADERS` and (unless a route set its own) :data:`CSP` to every response;
    with ``https`` (the base URL is https), HSTS too, so a browser never falls back to
    plain http, where the session cookie would not be sent anyway."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        hsts = {"Strict-Transport-Security": "max-age=31536000"} if https else {}
        self.headers = HEADERS | hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", CSP)
            await send(message)

        await self.app(scope, receive, with_headers)


def install_docs(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` from packaged assets (the app is made with both off)."""
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    title = app.title
    swagger = _with_csp(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title} — API (Swagger UI)",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )
    )
    redoc = _with_csp(
        get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{title} — API (ReDoc)",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(swagger[0], headers=swagger[1])

    @app.get("/redoc", include_in_schema=False)
    def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc[0], headers=redoc[1])


_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def _with_csp(page: HTMLResponse) -> tuple[bytes, dict[str, str]]:
    """The docs page and a CSP allowing exactly its own inline scripts (by hash)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(bytes(page.body))
    )
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {hashes}",
            "style-src 'self' 'unsafe-inline'",  # Swagger UI and ReDoc inject styles
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",  # ReDoc's search runs in a worker
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return bytes(page.body), {"Content-Security-Policy": policy}
