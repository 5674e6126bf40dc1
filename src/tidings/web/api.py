"""``/api/v1``: the JSON API. Each route is a thin call into the library."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
)
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from tidings.errors import InputError
from tidings.library import Tidings
from tidings.safety import MAX_INT64
from tidings.store.accounts import Session
from tidings.store.readers import Reader
from tidings.web import atom, etags
from tidings.web.auth import SESSION_COOKIE, Caller, caller, set_session_cookie
from tidings.web.params import Cursor, Limit, MinArticles, Offset, PathId
from tidings.web.throttle import client_address, guard

if TYPE_CHECKING:
    from tidings.search import SavedSearch

router = APIRouter(prefix="/api/v1")


def _tidings(request: Request) -> Tidings:
    return request.app.state.tidings


@router.get("/articles", summary="Newest articles")
def articles(
    request: Request, limit: Limit = 20, offset: Offset = 0, source: str | None = None
) -> dict[str, Any]:
    store = _tidings(request)
    items = store.articles(limit=limit, offset=offset, source=source)
    return {"items": [a.to_dict() for a in items], "total": store.article_count()}


@router.get("/articles/{article_id}", summary="One article, as `tidings articles show --json`")
def article(request: Request, article_id: PathId) -> dict[str, Any]:
    return _tidings(request).article(article_id).to_dict()


@router.get("/stories", summary="Newest stories")
def stories(
    request: Request,
    limit: Limit = 20,
    offset: Offset = 0,
    min_articles: MinArticles = 1,
) -> dict[str, Any]:
    store = _tidings(request)
    items = store.stories(limit=limit, offset=offset, min_articles=min_articles)
    return {
        "items": [s.to_dict() for s in items],
        "total": store.story_count(min_articles=min_articles),
    }


@router.get("/stories/{story_id}", summary="One story with every outlet's article")
def story(request: Request, story_id: PathId) -> dict[str, Any]:
    return _tidings(request).story(story_id).to_dict()


@router.get("/topics", summary="The most covered topics (what a new reader might follow)")
def topics(request: Request, limit: Limit = 30) -> dict[str, Any]:
    found = _tidings(request).popular_topics(limit)
    return {"items": [{"key": k, "name": n, "articles": c} for k, n, c in found]}


# -- accounts ---------------------------------------------------------------------------------


class Credentials(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


def _signed_in(request: Request, session: Session, status: int) -> JSONResponse:
    body = {"reader": session.reader.to_dict(), "token": session.token, "csrf": session.csrf}
    response = JSONResponse(body, status_code=status)
    set_session_cookie(request, response, session.token)
    return response


@router.post(
    "/accounts",
    status_code=201,
    summary="Sign up: a new reader, signed in",
    description="A taken name is refused with 409; a short password or a name with control "
    "characters with 422 naming the field. Passwords are hashed a few at a time: under a "
    "flood, 503 with Retry-After.",
)
async def sign_up(request: Request, body: Credentials) -> JSONResponse:
    store = _tidings(request)
    session = await guard(request).hashing(lambda: store.sign_up(body.name, body.password))
    return _signed_in(request, session, 201)


@router.post(
    "/sessions",
    summary="Sign in",
    description="A wrong name or password is 401. After a few failures for one account or "
    "from one address, attempts are refused for a while (429 with Retry-After, doubling each "
    "time); under a flood of sign-ins, 503 with Retry-After.",
)
async def sign_in(request: Request, body: Credentials) -> JSONResponse:
    store = _tidings(request)
    try:
        session = await guard(request).attempt(
            account=body.name,
            address=client_address(request),
            check=lambda: store.sign_in(body.name, body.password),
        )
    except InputError as exc:
        raise HTTPException(401, exc.problem) from exc
    return _signed_in(request, session, 200)


@router.delete("/sessions", status_code=204, summary="Sign out")
def sign_out(request: Request, who: Annotated[Caller, Depends(caller)]) -> Response:
    if who.session is not None:
        _tidings(request).sign_out(who.session.token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- the reader's feed and choices ------------------------------------------------------------

Who = Annotated[Caller, Depends(caller)]
ForReader = Annotated[str | None, Query(description="The reader (newsroom keys only).")]


@router.get("/feed", summary="The ranked feed: one item per story, each with its reason")
async def feed(
    request: Request,
    who: Who,
    reader: ForReader = None,
    limit: Limit = 30,
    cursor: Cursor = None,
) -> Response:
    """The page is tagged (``ETag``): asked again with ``If-None-Match`` while nothing
    changed for the reader, it is a ``304`` without a body, and logs no impressions again."""
    store = _tidings(request)
    ref = who.reader_ref(reader)
    # A returning reader's kept page is answered here (one indexed read); making a page
    # (ranking, reading the store) runs in a worker thread, off the event loop.
    page = None if cursor else store.kept_feed(ref, limit=limit)
    if page is None:
        page = await run_in_threadpool(store.feed, ref, limit=limit, cursor=cursor, record=False)
    body = page.json()
    held, tag = etags.not_modified(request, body, page.digest())
    headers = {"ETag": tag, "Cache-Control": etags.CACHE_CONTROL}
    if held:
        return Response(status_code=304, headers=headers)
    if store.feeds.impressions.deferred:
        store.record_shown(page)  # queued: the background writer stores it
    else:
        await run_in_threadpool(store.record_shown, page)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/filtered", summary="What is kept out of the feed, and why")
def filtered(request: Request, who: Who, reader: ForReader = None) -> dict[str, Any]:
    store = _tidings(request)
    return {"items": [f.to_dict() for f in store.filtered(who.reader(store, reader).id)]}


class Choice(BaseModel):
    topic: str = Field(
        min_length=1, max_length=300, description='A topic, an entity or "source:<name>".'
    )


def _choose(request: Request, who: Caller, reader: str | None, verb: str, topic: str) -> str:
    store = _tidings(request)
    return getattr(store, verb)(who.reader(store, reader).id, topic)


@router.post("/follows", status_code=201, summary="Follow a topic, entity or source")
def follow(request: Request, body: Choice, who: Who, reader: ForReader = None) -> dict[str, str]:
    return {"followed": _choose(request, who, reader, "follow", body.topic)}


@router.delete("/follows/{topic}", summary="Stop following")
def unfollow(request: Request, topic: str, who: Who, reader: ForReader = None) -> dict[str, str]:
    return {"unfollowed": _choose(request, who, reader, "unfollow", topic)}


@router.post(
    "/mutes",
    status_code=201,
    summary="Mute a topic, entity or source",
    description="A mute replaces a follow: `unfollowed` is true when the reader followed it "
    "until now, and `message` says so.",
)
def mute(request: Request, body: Choice, who: Who, reader: ForReader = None) -> dict[str, Any]:
    store = _tidings(request)
    muted = store.mute(who.reader(store, reader).id, body.topic)
    return {"muted": str(muted), "unfollowed": muted.unfollowed, "message": muted.message}


@router.delete("/mutes/{topic}", summary="Unmute")
def unmute(request: Request, topic: str, who: Who, reader: ForReader = None) -> dict[str, str]:
    return {"unmuted": _choose(request, who, reader, "unmute", topic)}


MAX_DWELL = 7 * 86400  # a week on one article is already more than anyone spends


class EventIn(BaseModel):
    kind: str = Field(
        max_length=40,
        description="open, unread, dwell, share, save, unsave, hide, unhide, fewer_like",
    )
    article_id: int | None = Field(default=None, ge=1, le=MAX_INT64)
    story_id: int | None = Field(default=None, ge=1, le=MAX_INT64)
    value: float | None = Field(
        default=None, ge=0, le=MAX_DWELL, allow_inf_nan=False, description="Seconds, for dwell."
    )


@router.post("/events", status_code=201, summary="Record what the reader did")
def record(request: Request, body: EventIn, who: Who, reader: ForReader = None) -> dict[str, Any]:
    store = _tidings(request)
    event = store.record(
        who.reader(store, reader).id,
        body.kind,
        article_id=body.article_id,
        story_id=body.story_id,
        value=body.value,
    )
    return {"kind": event.kind.value, "article_id": event.article_id, "story_id": event.story_id}


@router.get("/saved", summary="The stories the reader saved, newest save first")
def saved(request: Request, who: Who, reader: ForReader = None) -> dict[str, Any]:
    store = _tidings(request)
    return {"items": [s.to_dict() for s in store.saved(who.reader(store, reader).id)]}


@router.get("/topics/{topic}", summary="A topic or entity and its newest stories")
def topic(request: Request, topic: str, limit: Limit = 30) -> dict[str, Any]:
    key, name, found = _tidings(request).topic(topic, limit=limit)
    return {"key": key, "name": name, "stories": [s.to_dict() for s in found]}


# -- the reader's own sources -----------------------------------------------------------------


class SourceIn(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="An RSS, Atom or JSON Feed URL.")


@router.get("/sources", summary="The reader's sources")
def sources(request: Request, who: Who, reader: ForReader = None) -> dict[str, Any]:
    store = _tidings(request)
    return {"items": [s.to_dict() for s in store.subscriptions(who.reader(store, reader).id)]}


@router.post(
    "/sources",
    status_code=201,
    summary="Add a feed to the reader's sources",
    description="The feed is fetched at once: a URL that does not answer, or is not a feed, "
    "is refused (422, naming the URL) and nothing is stored. Its articles reach the feed "
    "once understood, which starts in the background.",
)
def add_source(
    request: Request, body: SourceIn, who: Who, tasks: BackgroundTasks, reader: ForReader = None
) -> dict[str, Any]:
    store = _tidings(request)
    source, result = store.subscribe(who.reader(store, reader).id, body.url)
    tasks.add_task(store.understand)
    return {"source": source.to_dict(), "ingest": result.to_dict()}


@router.delete("/sources/{source_id}", summary="Take a source off the reader's list")
def remove_source(
    request: Request, source_id: PathId, who: Who, reader: ForReader = None
) -> dict[str, Any]:
    store = _tidings(request)
    return {"removed": store.unsubscribe(who.reader(store, reader).id, str(source_id)).to_dict()}


@router.get("/sources/opml", summary="The reader's sources as OPML")
def export_opml(request: Request, who: Who, reader: ForReader = None) -> Response:
    store = _tidings(request)
    document = store.export_opml(who.reader(store, reader).id)
    return Response(document, media_type="text/x-opml")


@router.post(
    "/sources/opml",
    status_code=201,
    summary="Add every feed of an OPML list (the request body) to the reader's sources",
    description="A body that is not OPML is refused (422) with nothing stored. The new "
    "feeds are fetched and understood in the background.",
)
async def import_opml(
    request: Request, who: Who, tasks: BackgroundTasks, reader: ForReader = None
) -> dict[str, Any]:
    store = _tidings(request)
    whom = (await run_in_threadpool(who.reader, store, reader)).id  # may read the store
    data = await request.body()
    added = await run_in_threadpool(store.import_opml, data, name="the OPML body", reader=whom)
    # nothing fetched here: the new sources are due, and the poller fetches them
    return {
        "items": [{"source": s.to_dict(), "new": new} for s, new in added],
        "left_out": added.left_out,
        "warnings": added.warnings,
    }


# -- a newsroom's readers ---------------------------------------------------------------------


def _newsroom(who: Caller) -> None:
    if who.newsroom is None:
        raise HTTPException(403, "only a newsroom API key may manage readers")


class ReaderIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


@router.get("/readers", summary="Every reader (newsroom keys only)")
def readers(request: Request, who: Who, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    _newsroom(who)
    found = _tidings(request).readers(limit=limit, offset=offset)
    return {"items": [r.to_dict() for r in found]}


@router.post("/readers", status_code=201, summary="Add a reader (newsroom keys only)")
def add_reader(request: Request, body: ReaderIn, who: Who) -> dict[str, Any]:
    _newsroom(who)
    return _tidings(request).add_reader(body.name).to_dict()


# -- search -----------------------------------------------------------------------------------

SearchQuery = Annotated[
    str,
    Query(
        description='Words (any of them, ranked; titles weigh more), "quoted phrases" '
        '(required), -word or -"phrase" (left out), and filters: source:NAME, topic:NAME, '
        "section:NAME, before:YYYY-MM-DD, after:YYYY-MM-DD (a value may be quoted: "
        'source:"The Guardian"). At most 500 characters.',
    ),
]
SearchCursor = Annotated[
    str | None, Query(max_length=200, description="The next_cursor of the previous page.")
]
SearchLimit = Annotated[int, Query(ge=1, le=100, description="Hits per page.")]


class ReasonOut(BaseModel):
    code: str = Field(description='Why the story is shown: "search" and the like.')
    text: str


Count = Annotated[int, Field(ge=0, le=MAX_INT64)]


class SearchHitOut(BaseModel):
    """One story a query found: the article shown (every field of ``tidings articles show
    --json``, beside these) and why it matched."""

    model_config = ConfigDict(extra="allow")
    rank: Count = Field(description="1 for the first hit of the first page.")
    story_id: Count | None
    headline: str = Field(description="The story's headline.")
    outlets: Count = Field(description="How many outlets told the story.")
    articles: Count = Field(description="How many articles the story has.")
    score: float
    snippet: str = Field(description="A passage of the article around the matched words.")
    highlights: list[tuple[Count, Count]] = Field(
        description="[start, end) offsets into the snippet of each matched word."
    )
    matched: list[str] = Field(description='How it matched: "words", "meaning" or both.')
    reason: ReasonOut


class SearchPageOut(BaseModel):
    query: str
    hits: list[SearchHitOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: none.")


class SavedSearchOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(description="12 hex digits.")
    query: str
    since: datetime = Field(description="When the reader followed it.")
    feed_url: str = Field(description="Its private Atom feed: the newest matches.")


async def _maybe_caller(request: Request) -> Caller | None:
    """The caller when the request says who it is (a bad token is still 401); nobody when
    it carries no credentials: searching, like reading stories, needs no account."""
    if (
        request.headers.get("X-API-Key")
        or request.headers.get("Authorization")
        or request.cookies.get(SESSION_COOKIE)
    ):
        return await caller(request)
    return None


MaybeWho = Annotated[Caller | None, Depends(_maybe_caller)]


def _searcher(who: Caller | None, reader: str | None) -> Reader | str | None:
    """Whose search it is: a signed-in reader's own (ranked for them), a newsroom's reader
    when named, nobody's otherwise."""
    if who is None:
        if reader:
            raise HTTPException(401, "sign in (or send X-API-Key) to search as a reader")
        return None
    if who.newsroom is not None and not reader:
        return None  # a newsroom searching for itself: the same results anyone gets
    return who.reader_ref(reader)


@router.get(
    "/search",
    summary="Search stories: the best matches first, each with why it matched",
    description="Open to anyone; with a session or a newsroom key naming `reader`, ranked "
    "for that reader. An empty query, one over 500 characters or a bad filter value "
    "(`before:notadate`) is refused with 422 saying why; anything else (unbalanced quotes, "
    "stray operators) is read as well as it can be.",
    response_model=SearchPageOut,
)
async def search(
    request: Request,
    q: SearchQuery,
    who: MaybeWho,
    reader: ForReader = None,
    limit: SearchLimit = 20,
    cursor: SearchCursor = None,
) -> Response:
    store = _tidings(request)
    whom = _searcher(who, reader)
    page = await run_in_threadpool(store.search, q, reader=whom, limit=limit, cursor=cursor)
    return JSONResponse(page.to_dict())


def _saved_out(request: Request, token: str, saved: SavedSearch) -> dict[str, Any]:
    return {**saved.to_dict(), "feed_url": search_feed_url(request, token, saved.id)}


def _saved_list(request: Request, store: Tidings, reader: Reader) -> list[dict[str, Any]]:
    token = store.feed_token(reader.id)
    return [_saved_out(request, token, s) for s in store.saved_searches(reader.id)]


class SearchIn(BaseModel):
    query: str = Field(max_length=20_000, description="A search, as /api/v1/search takes it.")


class SavedSearchList(BaseModel):
    items: list[SavedSearchOut]


@router.get("/searches", summary="The searches the reader follows", response_model=SavedSearchList)
def saved_searches(request: Request, who: Who, reader: ForReader = None) -> dict[str, Any]:
    store = _tidings(request)
    return {"items": _saved_list(request, store, who.reader(store, reader))}


@router.post(
    "/searches",
    status_code=201,
    summary="Follow a search: its new matches rise in the feed, and it has an Atom feed",
    response_model=SavedSearchOut,
)
def follow_search(
    request: Request, body: SearchIn, who: Who, reader: ForReader = None
) -> dict[str, Any]:
    store = _tidings(request)
    whom = who.reader(store, reader)
    saved = store.follow_search(whom.id, body.query)
    return _saved_out(request, store.feed_token(whom.id), saved)


SearchId = Annotated[str, Path(max_length=500, description="The saved search's id.")]


@router.delete(
    "/searches/{search_id}", summary="Stop following a search", response_model=SavedSearchOut
)
def unfollow_search(
    request: Request, search_id: SearchId, who: Who, reader: ForReader = None
) -> dict[str, Any]:
    store = _tidings(request)
    whom = who.reader(store, reader)
    gone = store.unfollow_search(whom.id, search_id)
    return _saved_out(request, store.feed_token(whom.id), gone)


# -- the private Atom feed ---------------------------------------------------------------------


@router.get("/feed-link", summary="The reader's private Atom feed URL")
def feed_link(request: Request, who: Who, reader: ForReader = None) -> dict[str, str]:
    store = _tidings(request)
    token = store.feed_token(who.reader(store, reader).id)
    return {"url": feed_url(request, token)}


@router.post("/feed-link", summary="Revoke the private feed URL and make a new one")
def rotate_feed_link(request: Request, who: Who, reader: ForReader = None) -> dict[str, str]:
    store = _tidings(request)
    token = store.feed_token(who.reader(store, reader).id, rotate=True)
    return {"url": feed_url(request, token)}


def feed_url(request: Request, token: str) -> str:
    """The private feed's URL on the configured base URL, never on the Host header (which
    any client sets, so a link shown or mailed could point to someone else's server)."""
    return request.app.state.base_url + request.app.url_path_for("atom_feed", token=token)


def search_feed_url(request: Request, token: str, search_id: str) -> str:
    """A followed search's private Atom feed, on the base URL as :func:`feed_url`."""
    path = request.app.url_path_for("search_atom", token=token, search_id=search_id)
    return request.app.state.base_url + path


feeds = APIRouter()


@feeds.get("/feeds/{token}.atom", name="atom_feed", summary="A reader's ranked feed as Atom")
def atom_feed(request: Request, token: str) -> Response:
    store = _tidings(request)
    reader = store.reader_by_feed_token(token)
    page = store.feed(reader.id, limit=50)
    document = atom.render(
        page, title=f"tidings — the feed for {reader.name}", self_url=feed_url(request, token)
    )
    return Response(document, media_type="application/atom+xml")


@feeds.get(
    "/feeds/{token}/search/{search_id}.atom",
    name="search_atom",
    summary="A followed search's newest matches as Atom",
)
def search_atom(request: Request, token: str, search_id: str) -> Response:
    """Unknown token or search (or one the token's reader does not follow): 404."""
    reader, saved, page = _tidings(request).search_feed(token, search_id, limit=30)
    document = atom.render_search(
        page,
        reader=reader,
        saved=saved,
        title=f"tidings — search “{saved.query}” for {reader.name}",
        self_url=search_feed_url(request, token, saved.id),
    )
    return Response(document, media_type="application/atom+xml")
