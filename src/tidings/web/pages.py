"""Server-rendered pages (Jinja2): sign-up and sign-in, onboarding, "For you", hidden and why,
story and article. Every action is a plain form carrying the session's CSRF token; each
records the reader's event and sends them back, so the next page shows its effect."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tidings.errors import InputError, NotFound
from tidings.library import Tidings
from tidings.store.accounts import Session
from tidings.web.auth import SESSION_COOKIE

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]


def _tidings(request: Request) -> Tidings:
    return request.app.state.tidings


def _session(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    return _tidings(request).session(token) if token else None


def _render(
    request: Request, name: str, session: Session | None, status: int = 200, **context: Any
) -> HTMLResponse:
    context |= {
        "reader": session.reader if session else None,
        "csrf": session.csrf if session else "",
    }
    return templates.TemplateResponse(request, name, context, status_code=status)


def _back(request: Request, default: str = "/") -> RedirectResponse:
    return RedirectResponse(request.headers.get("referer") or default, status_code=303)


def _signed_in(request: Request, csrf: str) -> Session:
    """The session of a form post, whose CSRF field must match (403 otherwise)."""
    session = _session(request)
    if session is None:
        raise HTTPException(401, "sign in first")
    if not secrets.compare_digest(csrf, session.csrf):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return session


def _with_cookie(response: Response, session: Session) -> Response:
    response.set_cookie(
        SESSION_COOKIE, session.token, httponly=True, samesite="lax", max_age=30 * 86400
    )
    return response


@router.get("/", response_class=HTMLResponse)
def for_you(request: Request, cursor: str | None = None) -> Response:
    session = _session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    page = _tidings(request).feed(session.reader.id, limit=20, cursor=cursor)
    return _render(request, "feed.html", session, page=page)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> Response:
    return _render(request, "account.html", None, heading="Sign up", action="/signup")


@router.post("/signup")
def signup(request: Request, name: Field, password: Field) -> Response:
    return _account(request, name, password, signing_up=True)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> Response:
    return _render(request, "account.html", None, heading="Sign in", action="/signin")


@router.post("/signin")
def signin(request: Request, name: Field, password: Field) -> Response:
    return _account(request, name, password, signing_up=False)


def _account(request: Request, name: str, password: str, *, signing_up: bool) -> Response:
    """Sign up (then pick topics) or sign in (then the feed); the form again on failure."""
    store = _tidings(request)
    heading, action = ("Sign up", "/signup") if signing_up else ("Sign in", "/signin")
    try:
        session = (store.sign_up if signing_up else store.sign_in)(name, password)
    except InputError as exc:
        status = 422 if signing_up else 401
        return _render(
            request, "account.html", None, status, heading=heading, action=action,
            name=name, message=exc.problem,
        )  # fmt: skip
    after = "/onboarding" if signing_up else "/"
    return _with_cookie(RedirectResponse(after, status_code=303), session)


@router.post("/signout")
def signout(request: Request, csrf: Field) -> Response:
    session = _signed_in(request, csrf)
    _tidings(request).sign_out(session.token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/onboarding", response_class=HTMLResponse)
def onboarding_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    store = _tidings(request)
    following = set(store.following(session.reader.id)["follows"])
    topics = store.popular_topics(40)
    chosen = {key for key, name, _ in topics if name in following}
    return _render(request, "onboarding.html", session, topics=topics, following=chosen)


@router.post("/onboarding")
def onboarding(request: Request, csrf: Field, topic: Annotated[list[str], Form()]) -> Response:
    session = _signed_in(request, csrf)
    store = _tidings(request)
    for key in topic[:50]:
        store.follow(session.reader.id, key)
    return RedirectResponse("/", status_code=303)


@router.post("/follow")
def follow(request: Request, csrf: Field, topic: Field) -> Response:
    session = _signed_in(request, csrf)
    _tidings(request).follow(session.reader.id, topic)
    return RedirectResponse("/", status_code=303)


@router.post("/unmute")
def unmute(request: Request, csrf: Field, topic: Field) -> Response:
    session = _signed_in(request, csrf)
    _tidings(request).unmute(session.reader.id, topic)
    return _back(request, "/hidden")


@router.post("/act")
def act(request: Request, csrf: Field, kind: Field, story: Annotated[int, Form()]) -> Response:
    session = _signed_in(request, csrf)
    _tidings(request).record(session.reader.id, kind, story_id=story)
    return _back(request)


@router.get("/hidden", response_class=HTMLResponse)
def hidden(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    store = _tidings(request)
    return _render(
        request, "hidden.html", session,
        filtered=store.filtered(session.reader.id),
        mutes=store.following(session.reader.id)["mutes"],
    )  # fmt: skip


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, story_id: int) -> Response:
    session = _session(request)
    try:
        found = _tidings(request).story(story_id)
    except NotFound as exc:
        return _render(request, "base.html", session, 404, message=str(exc))
    timeline = [
        {
            "article_id": t.article_id,
            "title": t.title,
            "source": t.source or "",
            "when": t.published.strftime("%d %b %H:%M") if t.published else "",
        }
        for t in found.timeline
    ]
    return _render(request, "story.html", session, story=found, timeline=timeline)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(request: Request, article_id: int) -> Response:
    session = _session(request)
    store = _tidings(request)
    try:
        found = store.article(article_id)
    except NotFound as exc:
        return _render(request, "base.html", session, 404, message=str(exc))
    if session is not None:
        store.record(session.reader.id, "open", article_id=article_id)
    more = []
    if found.story_id is not None:
        more = [t for t in store.story(found.story_id).timeline if t.article_id != article_id]
    return _render(request, "article.html", session, article=found, more=more)
