"""Request size limits, checked before a body is read (an ASGI middleware, since FastAPI
reads a body before any dependency runs): a JSON body or form is small, an OPML upload may
be larger. An oversized body is refused in the one error shape as invalid input naming
``body``, with nothing read or stored."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.web.errors import error_body

MAX_BODY = 64 * 1024  # far above any real form or JSON request here
MAX_UPLOAD = 5 * 1024 * 1024  # an OPML list of some thousands of feeds
UPLOAD_SUFFIX = "/opml"


class BodyLimit:
    """Refuse a body over its route's limit: at once when Content-Length says so, or as
    soon as a body sent without one (chunked) grows past it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = MAX_UPLOAD if scope["path"].endswith(UPLOAD_SUFFIX) else MAX_BODY
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"").decode("latin-1")
        if length and (not length.isdigit() or int(length) > limit):
            await _refuse(limit, length)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _refuse(limit, str(seen))(scope, receive, send)


class _TooLarge(Exception):
    pass


def _refuse(limit: int, length: str) -> JSONResponse:
    size = f"{int(length):,} bytes" if length.isdigit() else f"Content-Length {length!r}"
    problem = f"the request body is too large ({size}; the limit here is {limit:,} bytes)"
    fields = [{"field": "body", "problem": problem}]
    return JSONResponse(error_body(422, f"invalid input: body: {problem}", fields), 422)
