"""Who is calling: a signed-in reader (session cookie or Bearer token) or a newsroom
(``X-API-Key``). Cookie-authenticated changes must echo the session's CSRF token in
``X-CSRF-Token`` (pages put it in their forms); a reader only ever sees their own data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request, Response

from tidings.library import Tidings
from tidings.store.accounts import Session
from tidings.store.readers import Reader

SESSION_COOKIE = "tidings_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_SECONDS = 30 * 86400


def same_secret(given: str, expected: str) -> bool:
    """A constant-time comparison that any text may reach (``secrets.compare_digest``
    raises on non-ASCII ``str``, which a forged form field or header may well be)."""
    return secrets.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None
) -> None:
    """An HttpOnly, SameSite=Lax cookie, ``Secure`` when the server's base URL is https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, token, max_age=SESSION_SECONDS)


@dataclass(frozen=True, slots=True)
class Caller:
    session: Session | None = None
    newsroom: str | None = None  # the API key's name

    def reader(self, store: Tidings, name: str | None) -> Reader:
        """The reader a request is about: a newsroom names one (``?reader=``); a signed-in
        reader is always themselves."""
        found = self.reader_ref(name)
        return store.reader(found) if isinstance(found, str) else found

    def reader_ref(self, name: str | None) -> Reader | str:
        """:meth:`reader` without reading the store: a newsroom's reader by name (the
        library looks them up with what it reads anyway), a signed-in reader themselves."""
        if self.newsroom is not None:
            if not name:
                raise HTTPException(422, "a newsroom key must name the reader (?reader=NAME)")
            return name
        assert self.session is not None
        if name and name != self.session.reader.name:
            raise HTTPException(403, "a reader can only see and change their own data")
        return self.session.reader


async def caller(request: Request) -> Caller:
    """A FastAPI dependency: the authenticated caller, or 401/403 in the one error shape.

    It runs on the event loop: each check is one indexed read by primary or unique key,
    cheaper than handing the request to a worker thread and back."""
    store: Tidings = request.app.state.tidings
    key = request.headers.get("X-API-Key")
    if key:
        name = store.api_key_name(key)
        if name is None:
            raise HTTPException(401, "that API key is not valid")
        return Caller(newsroom=name)
    bearer = request.headers.get("Authorization", "")
    if bearer.lower().startswith("bearer "):
        found = store.session(bearer[7:].strip())
        if found is None:
            raise HTTPException(401, "the session token is not valid or has expired")
        return Caller(session=found)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = store.session(cookie)
        if found is None:
            raise HTTPException(401, "the session has expired: sign in again")
        if request.method not in SAFE_METHODS and not same_secret(
            request.headers.get(CSRF_HEADER, ""), found.csrf
        ):
            raise HTTPException(403, f"missing or wrong CSRF token ({CSRF_HEADER})")
        return Caller(session=found)
    raise HTTPException(401, "sign in first (session cookie or Bearer token), or send X-API-Key")
