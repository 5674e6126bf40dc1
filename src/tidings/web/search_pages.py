"""The search page: ``/search?q=`` for anyone, ranked for a signed-in reader, who may follow
the search (its new stories then rise in their feed, and it gets a private Atom feed).

A query the library refuses (empty, too long, a bad filter value) is the page again with
its message and a 422; anything else typed is searched as well as it can be. The matched
words of each passage are marked from the hit's offsets, each piece escaped by the
template, so no stored text is ever put on the page as markup."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.errors import InputError
from tidings.web import atom
from tidings.web.api import SearchCursor, search_feed_url
from tidings.web.pages import Field, _back, _flash, _render, _session, _signed_in, templates

if TYPE_CHECKING:
    from tidings.library import Tidings
    from tidings.search import SavedSearch
    from tidings.store.accounts import Session

router = APIRouter(include_in_schema=False)
PAGE = 20  # results a page
templates.env.filters.update(spans=atom.spans)


def _tidings(request: Request) -> Tidings:
    return request.app.state.tidings


def _address(query: str) -> str:
    return f"/search?q={quote(query, safe='')}"


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request, q: Annotated[str, Query()] = "", cursor: SearchCursor = None
) -> Response:
    session = _session(request)
    if not q.strip():  # nothing asked yet: the page with the box and what it takes
        return _page(request, session, q)
    store = _tidings(request)
    reader = session.reader if session else None
    try:
        page = store.search(q, reader=reader, limit=PAGE, cursor=cursor)
    except InputError as exc:
        return _page(request, session, q, status=422, message=str(exc))
    return _page(request, session, q, page=page, cursor=cursor)


def _page(
    request: Request, session: Session | None, q: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """The search page; a signed-in reader's shows whether they follow this search, and
    then its private Atom feed."""
    saved = feed_link = None
    page = context.get("page")
    if session is not None and page is not None:
        store = _tidings(request)
        saved = _followed(store.saved_searches(session.reader), page.query, q)
        if saved is not None:
            token = store.feed_token(session.reader.id)
            feed_link = search_feed_url(request, token, saved.id)
    context.setdefault("page", None)
    return _render(
        request, "search.html", session, status, q=q, saved=saved, feed_link=feed_link,
        now=datetime.now(UTC), **context,
    )  # fmt: skip


def _followed(saved: list[SavedSearch], *queries: str) -> SavedSearch | None:
    """The saved search that is this query (as the library normalised it, or as typed)."""
    wanted = {" ".join(q.split()).casefold() for q in queries}
    return next((s for s in saved if " ".join(s.query.split()).casefold() in wanted), None)


@router.post("/search/follow")
def follow(request: Request, csrf: Field, q: Field) -> Response:
    session = _signed_in(request, csrf)
    try:
        saved = _tidings(request).follow_search(session.reader, q)
    except InputError as exc:
        return _page(request, session, q, status=422, message=str(exc))
    response = RedirectResponse(_address(q), status_code=303)
    notice = (
        f"You follow the search “{saved.query}”: its new stories rise in your feed, and "
        "it has a private Atom feed (below)."
    )
    return _flash(request, response, notice)


@router.post("/search/unfollow")
def unfollow(request: Request, csrf: Field, search: Field) -> Response:
    """Stop following a search (by its id, or its query); back to the page the form was on."""
    session = _signed_in(request, csrf)
    gone = _tidings(request).unfollow_search(session.reader, search)
    response = _back(request, _address(gone.query))
    return _flash(request, response, f"You no longer follow the search “{gone.query}”.")
