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
from starlette.exceptions import HTTPException

from tidings.errors import InputError, NotFound, TidingsError

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    422: "invalid_input",
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
        response.headers.update(exc.headers or {})  # a redirect's Location, say
        return response
