"""Request limits, checked before a route runs (ASGI middlewares, since FastAPI reads a
body before any dependency runs): a JSON body or form is small, an OPML upload may be
larger, and no text may hold a NUL. An oversized body is refused in the one error shape as
invalid input naming ``body``, with nothing read or stored; a NUL is refused naming its
field."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.safety import has_nul, has_surrogate
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


class NulGuard:
    """Refuse text no database can store, naming where it was: a NUL (PostgreSQL refuses it
    in any text column, so it would surface as a 500 there and pass on SQLite) in the path,
    a query parameter, a url-encoded form field or a JSON string, and a lone surrogate (which
    cannot be encoded at all) in a JSON string. One class-wide check, so no route can forget
    it. Bodies are buffered only for forms and JSON, which :class:`BodyLimit` (outside this
    one) keeps small; a multipart upload streams on untouched, its parser deciding."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        field = _nul_in_target(scope)
        kind = _body_kind(scope)
        body = b""
        if field is None and kind is not None:
            messages: list[Message] = []
            more = True
            while more:
                message = await receive()
                messages.append(message)
                body += message.get("body", b"")
                more = message["type"] == "http.request" and message.get("more_body", False)
            field = _bad_in_body(kind, body)
            replay = iter(messages)

            async def replayed() -> Message:
                return next(replay, None) or await receive()

            receive = replayed
        if field is None:
            await self.app(scope, receive, send)
            return
        where, problem = field
        fields = [{"field": where, "problem": problem}]
        refusal = JSONResponse(error_body(422, f"invalid input: {where}: {problem}", fields), 422)
        await refusal(scope, receive, send)


_NUL = "the text holds a NUL character (\\x00), which cannot be stored"
_SURROGATE = "the text holds a lone surrogate (not valid Unicode)"


def _nul_in_target(scope: Scope) -> tuple[str, str] | None:
    if "\x00" in scope["path"]:
        return "path", _NUL
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" in query or "\x00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return f"query.{name.replace(chr(0), '')}", _NUL
    return None


def _body_kind(scope: Scope) -> str | None:
    if scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return None
    content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip()
    if content_type == b"application/x-www-form-urlencoded":
        return "form"
    if content_type == b"application/json" or content_type.endswith(b"+json"):
        return "json"
    return None


def _bad_in_body(kind: str, body: bytes) -> tuple[str, str] | None:
    if kind == "form":
        if b"%00" not in body and b"\x00" not in body:
            return None
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return f"body.{name.replace(chr(0), '')}", _NUL
        return None
    if b"\\u" not in body and b"\x00" not in body:  # the fast path: no escapes at all
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past what json reads
        return None  # the route's own parsing refuses the body, naming it
    return _bad_in_json(document, "body")


def _bad_in_json(document: Any, where: str) -> tuple[str, str] | None:
    """The first string (key or value) holding a NUL or a lone surrogate, and where. Walked
    with a stack, not recursion: a body may nest as deep as the JSON parser allows."""
    stack: list[tuple[Any, str]] = [(document, where)]
    while stack:
        value, at = stack.pop()
        if isinstance(value, str):
            if has_nul(value):
                return at, _NUL
            if has_surrogate(value):
                return at, _SURROGATE
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                stack.append((item, f"{at}.{key}"))
                stack.append((key, at))
        elif isinstance(value, list):
            stack.extend((item, f"{at}.{i}") for i, item in reversed(list(enumerate(value))))
    return None
