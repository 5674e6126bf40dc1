"""One error shape for every failure the API reports:

``{"error": {"status": 404, "code": "not_found", "message": "no article with id 7",
"fields": [...]}}`` — ``fields`` only when a request's input was invalid, each naming the
field (``"query.limit"``) and what is wrong with it.

A browser asking for a page (``Accept: text/html``, outside the API) gets the same status
and message as a page of the site instead, with a way back; scripts, the API, the Atom
feeds and the health checks always get JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from tidings.errors import Conflict, InputError, NotFound, TidingsError

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def error_body(status: int, message: str, fields: list[dict[str, str]] | None = None) -> dict:
    error: dict[str, Any] = {
        "status": status,
        "code": _CODES.get(status, "error"),
        "message": message,
    }
    if fields:
        error["fields"] = fields
    return {"error": error}


_MACHINE_PATHS = ("/api/", "/feeds/", "/openapi.json", "/healthz", "/readyz", "/static/")
_TITLES = {
    400: "That did not work",
    401: "Sign in first",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    409: "Already taken",
    422: "Something in that request is not right",
    429: "Too many tries",
    500: "Something went wrong",
    503: "Busy for a moment",
}


def wants_page(request: Request) -> bool:
    """A browser navigating the site (not the API, a feed reader or a script)."""
    path = request.url.path
    if path.startswith(_MACHINE_PATHS) or path in ("/api", "/feeds"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _respond(
    status: int,
    message: str,
    fields: list[dict[str, str]] | None = None,
    request: Request | None = None,
) -> HTMLResponse | JSONResponse:
    if request is not None and status >= 400 and wants_page(request):
        return error_page(request, status, message, fields)
    return JSONResponse(error_body(status, message, fields), status_code=status)


def error_page(
    request: Request, status: int, message: str, fields: list[dict[str, str]] | None = None
) -> HTMLResponse:
    """The error as a page of the site: what happened, and where to go from here."""
    from tidings.web.pages import templates, viewer  # the pages import this module's users

    context = {
        "status": status,
        "title": _TITLES.get(status, "That did not work"),
        "detail": message,  # as said: it may begin with the input it names
        "fields": fields or [],
        "path": request.url.path,
        "csrf": "",
        "reader": viewer(request),
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def install(app: FastAPI) -> None:
    """Route every error through the one shape."""

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _respond(404, str(exc), request=request)

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        fields = [{"field": exc.input, "problem": exc.problem}]
        return _respond(409, str(exc), fields, request)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        fields = [{"field": exc.input, "problem": exc.problem}]
        return _respond(422, str(exc), fields, request)

    @app.exception_handler(TidingsError)
    async def other(request: Request, exc: TidingsError) -> Response:
        return _respond(400, str(exc), request=request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [
            {"field": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        named = ", ".join(f["field"] for f in fields)
        return _respond(422, f"invalid input: {named}", fields, request)

    @app.exception_handler(HTTPException)
    async def http(request: Request, exc: HTTPException) -> Response:
        response = _respond(exc.status_code, str(exc.detail), request=request)
        response.headers.update(exc.headers or {})  # a redirect's Location, a Retry-After
        return response

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> Response:
        """The database stayed locked (SQLite's one writer, past its busy timeout) or a
        lock wait or deadlock was cut short: nothing was written, so trying again is safe.
        Any other operational error (the database gone) is a 503 too: the server is not
        at fault for the request, and retrying later is the client's only move."""
        response = _respond(503, "the database is busy: try again in a moment", request=request)
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        """Anything unforeseen still answers in the one shape (Starlette re-raises it after
        this, so the server logs the traceback); the message says nothing of the cause."""
        message = "something went wrong on our side; it has been logged"
        try:
            return _respond(500, message, request=request)
        except Exception:  # the page itself failed (the store is gone): the plain shape
            return _respond(500, message)
