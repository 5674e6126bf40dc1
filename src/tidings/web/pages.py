"""Server-rendered pages (Jinja2): sign-up and sign-in, onboarding, "For you", topic, saved,
hidden and why, settings (sources, OPML, the private feed link, app passwords), story and
article. Every action is a plain form carrying the session's CSRF token; each records the
reader's event and sends them back, so the next page shows its effect.

No GET changes anything: an article page records its "open" by a POST from a small static
script (``static/tidings.js``), so a link from another site marks nothing read. The
sign-in and sign-up forms, which have no session yet, carry a token that must match a
cookie of the same value (double submit), so another site cannot sign a visitor in to an
account of its choosing."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    Form,
    HTTPException,
    Request,
    UploadFile,
)
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tidings.demo.licence import licence_of
from tidings.errors import Conflict, InputError, NotFound, TidingsError
from tidings.library import Tidings
from tidings.models import Article
from tidings.rank import profile
from tidings.rank.cursor import StaleCursor
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store import readers as reader_store
from tidings.store.accounts import Session
from tidings.store.readers import Reader
from tidings.web import etags, present
from tidings.web.api import feed_url, search_feed_url
from tidings.web.auth import SESSION_COOKIE, same_secret, set_cookie, set_session_cookie
from tidings.web.params import Cursor, FormId, PathId
from tidings.web.throttle import Busy, Throttled, client_address, guard

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    ago=present.ago,
    full_date=present.full_date,
    outlet=present.outlet,
    initial=present.initial,
    badge_colour=present.badge_colour,
    summary_line=present.summary_line,
    readable=present.readable,
)
templates.env.tests.update(headline_only=present.headline_only, summary_only=present.summary_only)
router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]
FORM_COOKIE = "tidings_form"  # the sign-in and sign-up forms' CSRF token (double submit)
FLASH_COOKIE = "tidings_flash"  # one message for the page a form sends the reader back to
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def _tidings(request: Request) -> Tidings:
    return request.app.state.tidings


def _session(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    return _tidings(request).session(token) if token else None


def _reader_session(request: Request) -> Session:
    """A dependency of the pages only a signed-in reader sees: anyone else signs in first."""
    session = _session(request)
    if session is None:
        raise HTTPException(303, "sign in first", headers={"Location": "/signin"})
    return session


SignedIn = Annotated[Session, Depends(_reader_session)]


def viewer(request: Request) -> Reader | None:
    """Who is looking, for an error page's navigation; nobody if that cannot be told (the
    error may be that the database is unavailable)."""
    try:
        session = _session(request)
    except Exception:  # an error page must render whatever broke
        return None
    return session.reader if session else None


def _render(
    request: Request, template: str, session: Session | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` for ``session``'s reader (or nobody), with the flash message a form
    left, if any. The template name is not called ``name``: a page's context may hold a
    ``name`` of its own (the sign-up form's)."""
    context.setdefault("csrf", session.csrf if session else "")
    context["reader"] = session.reader if session else None
    flash = request.cookies.get(FLASH_COOKIE)
    if flash:
        context.setdefault("flash", unquote(flash)[:300])
    response = templates.TemplateResponse(request, template, context, status_code=status)
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    return response


def _flash(request: Request, response: Response, message: str) -> Response:
    """Show ``message`` on the next page this browser renders (a short-lived cookie)."""
    set_cookie(request, response, FLASH_COOKIE, quote(message[:300]), max_age=120)
    return response


def _not_found(request: Request, exc: TidingsError) -> HTMLResponse:
    from tidings.web.errors import error_page  # errors renders with this module's templates

    return error_page(request, 404, str(exc))


def _dated(item: Any) -> datetime | None:
    """When a card's or page's article was published; None when it is undated (the
    source gave no date, whatever time the store filed it under)."""
    article = getattr(item, "article", item)
    if getattr(item, "undated", False) or getattr(article, "undated", False):
        return None
    return article.published


templates.env.globals.update(dated=_dated)


def _back(request: Request, default: str = "/") -> RedirectResponse:
    """Back to the page the form was on: the path of the Referer only, so a forged header
    cannot send the reader to another site."""
    parts = urlsplit(request.headers.get("referer") or "")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        path = default
    return RedirectResponse(path, status_code=303)


def _signed_in(request: Request, csrf: str) -> Session:
    """The session of a form post, whose CSRF field must match (403 otherwise)."""
    session = _session(request)
    if session is None:
        raise HTTPException(401, "sign in first")
    if not same_secret(csrf, session.csrf):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return session


def _with_cookie(request: Request, response: Response, session: Session) -> Response:
    set_session_cookie(request, response, session.token)
    return response


@router.get("/", response_class=HTMLResponse)
def for_you(request: Request, session: SignedIn, cursor: Cursor = None) -> Response:
    store = _tidings(request)
    try:
        page = store.feed(session.reader, limit=20, cursor=cursor, record=False)
    except StaleCursor:  # a page kept open past its ranking's life: start from the top
        return RedirectResponse("/", status_code=303)
    # "3 h ago" is measured from the feed's own clock (the newest story's time when the
    # store is an archive), so it agrees with the freshness the ranking used.
    response = _render(request, "feed.html", session, page=page, now=page.clock)
    # Tagged here, not by etags.ConditionalGet: a page the browser holds already (304) is
    # not logged as shown again.
    held, tag = etags.not_modified(request, bytes(response.body))
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = etags.CACHE_CONTROL
    if held and FLASH_COOKIE not in request.cookies:
        return Response(status_code=304, headers=dict(response.headers))
    store.record_shown(page)
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> Response:
    return _account_form(request, signing_up=True)


@router.post("/signup")
async def signup(request: Request, name: Field, password: Field, csrf: Field = "") -> Response:
    return await _account(request, name, password, csrf, signing_up=True)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> Response:
    return _account_form(request, signing_up=False)


@router.post("/signin")
async def signin(request: Request, name: Field, password: Field, csrf: Field = "") -> Response:
    return await _account(request, name, password, csrf, signing_up=False)


def _account_form(
    request: Request, *, signing_up: bool, status: int = 200, **context: Any
) -> HTMLResponse:
    """The sign-up or sign-in form with its double-submit token, set as a cookie too."""
    heading, action = ("Sign up", "/signup") if signing_up else ("Sign in", "/signin")
    token = request.cookies.get(FORM_COOKIE) or ""
    fresh = not _FORM_TOKEN.fullmatch(token)  # none yet, or not one this server made
    if fresh:
        token = secrets.token_urlsafe(32)
    response = _render(
        request, "account.html", None, status, heading=heading, action=action, csrf=token,
        **context,
    )  # fmt: skip
    if fresh:
        set_cookie(request, response, FORM_COOKIE, token, max_age=None)
    return response


async def _account(
    request: Request, name: str, password: str, csrf: str, *, signing_up: bool
) -> Response:
    """Sign up (then pick topics) or sign in (then the feed); the form again, with what went
    wrong and the right status, on failure: 403 a forged or stale form, 409 a taken name,
    422 a bad name or password, 401 a wrong one, 429/503 throttled (with Retry-After)."""
    store = _tidings(request)
    cookie = request.cookies.get(FORM_COOKIE, "")
    if not cookie or not same_secret(csrf, cookie):
        return _account_form(
            request, signing_up=signing_up, status=403, name=name,
            message="This form had expired or came from another site: please try again.",
        )  # fmt: skip
    try:
        if signing_up:
            session = await guard(request).hashing(lambda: store.sign_up(name, password))
        else:
            session = await guard(request).attempt(
                account=name,
                address=client_address(request),
                check=lambda: store.sign_in(name, password),
            )
    except (Throttled, Busy) as exc:
        response = _account_form(
            request, signing_up=signing_up, status=exc.status_code, name=name,
            message=f"{str(exc.detail).capitalize()}.",
        )  # fmt: skip
        response.headers.update(exc.headers or {})
        return response
    except InputError as exc:
        status = 409 if isinstance(exc, Conflict) else 422 if signing_up else 401
        return _account_form(
            request, signing_up=signing_up, status=status, name=name,
            message=f"{exc.problem[:1].upper()}{exc.problem[1:]}.",
        )  # fmt: skip
    after = "/onboarding" if signing_up else "/"
    return _with_cookie(request, RedirectResponse(after, status_code=303), session)


@router.post("/signout")
def signout(request: Request, csrf: Field) -> Response:
    session = _signed_in(request, csrf)
    _tidings(request).sign_out(session.token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/onboarding", response_class=HTMLResponse)
def onboarding_page(request: Request, session: SignedIn) -> Response:
    store = _tidings(request)
    following = set(store.following(session.reader.id)["follows"])
    topics = store.popular_topics(40)
    chosen = {key for key, name, _ in topics if name in following}
    return _render(request, "onboarding.html", session, topics=topics, following=chosen)


@router.post("/onboarding")
def onboarding(
    request: Request, csrf: Field, topic: Annotated[list[str] | None, Form()] = None
) -> Response:
    session = _signed_in(request, csrf)
    store = _tidings(request)
    for key in (topic or [])[:50]:  # none picked: the feed ranks by what is popular
        store.follow(session.reader.id, key)
    return RedirectResponse("/", status_code=303)


@router.post("/follow")
@router.post("/unfollow")
@router.post("/mute")
@router.post("/unmute")
def choose(request: Request, csrf: Field, topic: Field) -> Response:
    """Follow, unfollow, mute or unmute a topic (the verb is the path); a mute says where
    its stories went, and that a follow of the same topic was dropped."""
    session = _signed_in(request, csrf)
    store = _tidings(request)
    verb = request.url.path.strip("/")
    followed = store.following(session.reader.id)["follows"] if verb == "mute" else []
    done = getattr(store, verb)(session.reader.id, topic)
    if verb == "follow":  # to the feed, where its stories now rise
        return RedirectResponse("/", status_code=303)
    response = _back(request, "/hidden" if verb == "unmute" else "/")
    if verb == "mute":
        return _flash(request, response, _muted_notice(done, followed))
    if verb == "unmute":
        return _flash(request, response, f"Unmuted {_name_of(done)}: its stories come back.")
    return response


def _name_of(done: Any) -> str:
    """The display name a follow/mute call returns (a name, or a result carrying one)."""
    return done if isinstance(done, str) else str(getattr(done, "name", done))


def _muted_notice(done: Any, followed_before: list[str]) -> str:
    """What muting did: the library's own word on a dropped follow when it gives one."""
    said = getattr(done, "notice", None) or getattr(done, "message", None)
    name = _name_of(done)
    if isinstance(said, str) and said:
        return said
    if name in followed_before:
        return f"Muted {name}, which you followed: you no longer follow it."
    return f"Muted {name}: its stories are listed under Hidden and why."


@router.get("/topics/{topic}", response_class=HTMLResponse)
def topic(request: Request, topic: str) -> Response:
    session = _session(request)
    store = _tidings(request)
    try:
        key, name, stories = store.topic(topic)
    except TidingsError as exc:
        return _not_found(request, exc)
    following = store.following(session.reader.id) if session else {"follows": [], "mutes": []}
    return _render(
        request, "topic.html", session, key=key, topic_name=name, stories=stories,
        followed=name in following["follows"], muted=name in following["mutes"],
    )  # fmt: skip


@router.get("/saved", response_class=HTMLResponse)
def saved(request: Request, session: SignedIn) -> Response:
    return _render(
        request, "saved.html", session, stories=_tidings(request).saved(session.reader.id)
    )


@router.post("/act")
def act(request: Request, csrf: Field, kind: Field, story: FormId) -> Response:
    session = _signed_in(request, csrf)
    _tidings(request).record(session.reader.id, kind, story_id=story)
    response = _back(request)
    if kind == "hide":
        return _flash(request, response, "Hidden. It is listed under Hidden and why.")
    if kind == "save":
        return _flash(request, response, "Saved. Find it under Saved.")
    return response


@router.get("/hidden", response_class=HTMLResponse)
def hidden(request: Request, session: SignedIn) -> Response:
    """What is kept out of the feed, one group per reason with one undo at its head."""
    store = _tidings(request)
    groups = present.group_hidden(
        store.filtered(session.reader.id), _mutes(store, session.reader.id)
    )
    return _render(request, "hidden.html", session, groups=groups)


@router.post("/hidden/unhide")
def unhide_all(request: Request, csrf: Field) -> Response:
    """Show again every story the reader hid (the "You hid these" group's undo)."""
    session = _signed_in(request, csrf)
    store = _tidings(request)
    stories = [f.story_id for f in store.filtered(session.reader.id) if f.reason == "hidden"]
    for story_id in stories:
        store.record(session.reader.id, "unhide", story_id=story_id)
    response = RedirectResponse("/hidden", status_code=303)
    shown = "1 story is" if len(stories) == 1 else f"{len(stories)} stories are"
    return _flash(request, response, f"{shown} back in your feed.")


def _mutes(store: Tidings, reader_id: int) -> list[tuple[str, str]]:
    """(target, name) of everything a reader mutes: the target as unmute takes it
    ("sport", "source:The Guardian"), which the names alone cannot tell apart."""
    with store.engine.connect() as connection:
        who = reader_store.get(connection, reader_id)
        muted = profile.fold(event_store.for_reader(connection, who.id)).muted
        topics = [k for k in muted if not k.startswith("source:")]
        names = candidate_store.topic_names(connection, topics)
    return sorted(((k, names.get(k, k.removeprefix("source:"))) for k in muted), key=lambda m: m[1])


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, story_id: PathId) -> Response:
    session = _session(request)
    try:
        found = _tidings(request).story(story_id)
    except NotFound as exc:
        return _not_found(request, exc)
    timeline = [
        {
            "article_id": t.article_id,
            "title": t.title,
            "source": t.source or "",
            "when": t.published.strftime("%d %b %Y %H:%M") if t.published else "undated",
            "published": t.published,
            "url": t.url,
        }
        for t in found.timeline
    ]
    return _render(request, "story.html", session, story=found, timeline=timeline)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(request: Request, article_id: PathId) -> Response:
    """The article; its "open" is recorded by the page's script (:func:`opened`)."""
    session = _session(request)
    store = _tidings(request)
    try:
        found = store.article(article_id)
    except NotFound as exc:
        return _not_found(request, exc)
    more = []
    if found.story_id is not None:
        more = [t for t in store.story(found.story_id).timeline if t.article_id != article_id]
    return _render(
        request, "article.html", session, article=found, more=more, **_article_view(found)
    )


def _article_view(article: Article) -> dict[str, Any]:
    """What the article page shows beyond the stored article: the body in paragraphs, key
    points that add to its first paragraph, where to read it at its outlet, and the
    licence of its text when tidings knows it."""
    body = present.readable(article.paragraphs)
    original = article.url or article.canonical_url or ""
    return {
        "body": body,
        "points": present.fresh_points(article.key_points, body),
        "outlet": present.outlet(article),
        "original": original if original.startswith(("https://", "http://")) else None,
        "licence": licence_of(article.url, article.external_id),
    }


@router.post("/articles/{article_id}/open", status_code=204)
def opened(request: Request, article_id: PathId, csrf: Field) -> Response:
    """The reader opened the article: posted by the article page's script with the
    session's CSRF token, so opening only counts when the reader's own page says so."""
    session = _signed_in(request, csrf)
    _tidings(request).record(session.reader.id, "open", article_id=article_id)
    return Response(status_code=204)


# -- settings: the reader's sources, OPML, the private feed link, app passwords ---------------


def _settings(
    request: Request, session: Session, status: int = 200, **context: Any
) -> HTMLResponse:
    store = _tidings(request)
    token = store.feed_token(session.reader.id)
    return _render(
        request, "settings.html", session, status,
        sources=store.filed_subscriptions(session.reader),
        feed_link=feed_url(request, token),
        searches=[
            (s, search_feed_url(request, token, s.id))
            for s in store.saved_searches(session.reader)
        ],
        app_passwords=store.app_passwords(session.reader),
        server=request.app.state.base_url,
        **context,
    )  # fmt: skip


@router.get("/settings", response_class=HTMLResponse)
def settings(request: Request, session: SignedIn) -> Response:
    return _settings(request, session)


@router.post("/settings/sources")
def add_source(request: Request, csrf: Field, url: Field, tasks: BackgroundTasks) -> Response:
    """Fetch the feed at once: a URL that does not answer is named on the page, unstored."""
    session = _signed_in(request, csrf)
    store = _tidings(request)
    try:
        source, result = store.subscribe(session.reader.id, url)
    except TidingsError as exc:
        return _settings(request, session, 422, message=str(exc), url=url)
    tasks.add_task(store.understand)
    notice = (
        f"Added {source.title or source.url}: {result.added} new articles. They reach your "
        "feed in a minute or so, once understood."
    )
    return _settings(request, session, notice=notice)


@router.post("/settings/sources/remove")
def remove_source(request: Request, csrf: Field, source: Field) -> Response:
    session = _signed_in(request, csrf)
    try:
        gone = _tidings(request).unsubscribe(session.reader.id, source)
    except TidingsError as exc:
        return _settings(request, session, 404, message=str(exc))
    return _settings(request, session, notice=f"Removed {gone.title or gone.url}.")


@router.post("/settings/sources/file")
def file_source(
    request: Request,
    csrf: Field,
    source: Field,
    folder: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A source's folder and title of the reader's own (blank: none, the feed's own), as
    native RSS apps show them."""
    session = _signed_in(request, csrf)
    try:
        filed = _tidings(request).edit_subscription(
            session.reader, source, title=title.strip() or None, folder=folder.strip() or None
        )
    except NotFound as exc:
        return _settings(request, session, 404, message=str(exc))
    except TidingsError as exc:
        return _settings(request, session, 422, message=str(exc))
    place = f"in {filed.folder.name}" if filed.folder else "in no folder"
    return _settings(request, session, notice=f"{filed.title} is {place}.")


@router.post("/settings/opml")
async def import_opml(
    request: Request, csrf: Field, tasks: BackgroundTasks, opml: Annotated[UploadFile, File()]
) -> Response:
    """Every feed of an uploaded OPML file joins the reader's sources; a file that is not
    OPML is refused by name with nothing stored. New feeds are fetched in the background."""
    session = _signed_in(request, csrf)
    store = _tidings(request)
    name = opml.filename or "the uploaded file"
    data = await opml.read()
    try:
        added = await run_in_threadpool(
            store.import_opml, data, name=name, reader=session.reader.id
        )
    except TidingsError as exc:
        return _settings(request, session, 422, message=str(exc))
    # nothing fetched here: the new sources are due, and the poller fetches them
    new = sum(1 for _, is_new in added if is_new)
    notice = f"{name}: {len(added)} feeds, {new} new to your sources; fetching them now."
    if added.warnings:  # over the cap: how many were left out, and the cap
        notice = " ".join([notice, *added.warnings])
    return _settings(request, session, notice=notice)


@router.get("/settings/opml")
def export_opml(request: Request, session: SignedIn) -> Response:
    document = _tidings(request).export_opml(session.reader.id)
    disposition = 'attachment; filename="tidings-sources.opml"'
    return Response(
        document, media_type="text/x-opml", headers={"Content-Disposition": disposition}
    )


@router.post("/settings/feed-link")
def rotate_feed_link(request: Request, csrf: Field) -> Response:
    session = _signed_in(request, csrf)
    _tidings(request).feed_token(session.reader.id, rotate=True)
    notice = "A new private feed link: the old one no longer works."
    return _settings(request, session, notice=notice)


@router.post("/settings/app-passwords")
def add_app_password(request: Request, csrf: Field, label: Field = "") -> Response:
    """A new app password, shown on this answer only (never stored, so never again)."""
    session = _signed_in(request, csrf)
    try:
        made, password = _tidings(request).add_app_password(session.reader, label)
    except TidingsError as exc:
        return _settings(request, session, 422, message=str(exc), label=label)
    response = _settings(request, session, new_password=(made, password))
    response.headers["Cache-Control"] = "no-store"  # the page holds a secret
    return response


@router.post("/settings/app-passwords/revoke")
def revoke_app_password(request: Request, csrf: Field, app_password: Field) -> Response:
    session = _signed_in(request, csrf)
    try:
        gone = _tidings(request).revoke_app_password(session.reader, app_password)
    except TidingsError as exc:
        return _settings(request, session, 404, message=str(exc))
    notice = f"Revoked the app password {gone.label or gone.id}: apps using it are signed out."
    return _settings(request, session, notice=notice)
