"""One error shape for every failure the API reports:

``{"error": {"status": 404, "code": "not_found", "message": "no article with id 7",
"fields": [...]}}`` — ``fields`` only when a request's input was invalid, each naming the
field (``"query.limit"``) and what is wrong with it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def _respond(status: int, message: str, fields: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, fields), status_code=status)


def install(app: FastAPI) -> None:
    """Route every error through the one shape."""

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _respond(404, str(exc))

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return _respond(409, str(exc), [{"field": exc.input, "problem": exc.problem}])

    @app.exception_handler(InputError)
    async def bad_input(_: Request, exc: InputError) -> JSONResponse:
        return _respond(422, str(exc), [{"field": exc.input, "problem": exc.problem}])

    @app.exception_handler(TidingsError)
    async def other(_: Request, exc: TidingsError) -> JSONResponse:
        return _respond(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        named = ", ".join(f["field"] for f in fields)
        return _respond(422, f"invalid input: {named}", fields)

    @app.exception_handler(HTTPException)
    async def http(_: Request, exc: HTTPException) -> JSONResponse:
        response = _respond(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})  # a redirect's Location, a Retry-After
        return response

    @app.exception_handler(OperationalError)
    async def busy(_: Request, exc: OperationalError) -> JSONResponse:
        """The database stayed locked (SQLite's one writer, past its busy timeout) or a
        lock wait or deadlock was cut short: nothing was written, so trying again is safe.
        Any other operational error (the database gone) is a 503 too: the server is not
        at fault for the request, and retrying later is the client's only move."""
        response = _respond(503, "the database is busy: try again in a moment")
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        """Anything unforeseen still answers in the one shape (Starlette re-raises it after
        this, so the server logs the traceback); the message says nothing of the cause."""
        return _respond(500, "something went wrong on our side; it has been logged")
