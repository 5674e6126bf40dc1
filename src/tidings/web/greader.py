"""The Google Reader API (issue 15) at ``/api/greader``, in the dialect FreshRSS and Miniflux
speak, so that NetNewsWire, Reeder, ReadKit, FeedMe, Read You and FluentReader sync a
reader's subscriptions, folders and read/starred state — and read ``user/-/label/For you``,
their ranked tidings feed, one item per story with its reason first.

An app signs in with ``POST accounts/ClientLogin`` (``Email`` = the reader's name, ``Passwd``
= an app password) and sends ``Authorization: GoogleLogin auth=<token>`` after. Every
read/star from an app goes through the library, so it is also an event the feed learns from;
a page of "For you" an app fetches is logged as shown (impressions), as the web feed's is.
Answers: 401 without a valid token, 400 naming a malformed parameter, 404 for a feed or
folder that is not the reader's — never 500.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MultiDict

from tidings.errors import InputError, NotFound
from tidings.library import KEEP, Tidings
from tidings.store.folders import Subscription
from tidings.store.readers import Reader
from tidings.store.streams import Item, Stream, micros
from tidings.web import greader_ids as ids
from tidings.web import greader_json
from tidings.web.params import query_and_form
from tidings.web.throttle import found_or_none

router = APIRouter(prefix="/api/greader", include_in_schema=False)
API = "/reader/api/0"
MAX_IDS = 10_000  # item ids one page may list (NetNewsWire asks for 1,000 at a time)
MAX_ITEMS = 1_000  # items whose contents one call may ask for
MAX_FOR_YOU = 200  # the ranked feed's longest page
MAX_FIELD = 2_000  # characters of one parameter kept
Params = MultiDict


# -- the call: params, auth, errors --------------------------------------------------------


async def _params(request: Request) -> Params:
    return await query_and_form(request, max_fields=MAX_ITEMS * 2 + 50, max_length=MAX_FIELD)


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "googlelogin":
        return None
    key, _, value = rest.strip().partition("=")
    if key.strip().lower() != "auth":
        return None
    return value.strip()[:200] or None


def action_token(auth: str) -> str:
    """The ``T`` token for POSTs: derived from the sign-in token, so nothing more is stored
    (57 characters, as FreshRSS's)."""
    return hashlib.sha256(f"tidings-T:{auth}".encode()).hexdigest()[:57]


def _text(body: str, status: int = 200) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=status)


Work = Callable[[Tidings, Reader, Params], Any]


async def _call(request: Request, work: Work, *, post: bool = False) -> Response:
    """Authenticate, run ``work`` off the event loop, answer its result (a dict as JSON,
    text as text), and map errors to the status codes Google Reader clients expect."""
    store: Tidings = request.app.state.tidings
    auth = _token(request)
    reader = None if auth is None else await run_in_threadpool(store.reader_by_app_token, auth)
    if reader is None or auth is None:
        return _text("Unauthorized", 401)
    try:
        params = await _params(request)
    except InputError as bad:
        return _text(str(bad), 400)
    sent = params.get("T")
    if post and sent and not hmac.compare_digest(sent, action_token(auth)):
        response = _text("Unauthorized", 401)
        response.headers["Google-Bad-Token"] = "true"
        return response
    try:
        result = await run_in_threadpool(work, store, reader, params)
    except NotFound as missing:
        return _text(str(missing), 404)
    except InputError as bad:
        return _text(str(bad), 400)
    if isinstance(result, str):
        return _text(result)
    return JSONResponse(result)


# -- signing in ----------------------------------------------------------------------------


@router.api_route("/accounts/ClientLogin", methods=["GET", "POST"])
async def client_login(request: Request) -> Response:
    """``Email`` and ``Passwd`` (an app password) → ``Auth=<token>``; 401 otherwise, with
    the same throttling as the web sign-in."""
    store: Tidings = request.app.state.tidings
    try:
        params = await _params(request)
    except InputError as bad:
        return _text(str(bad), 400)
    name = params.get("Email", "").strip()
    password = params.get("Passwd", "")

    token = await found_or_none(
        request,
        account=f"greader:{name}",
        find=lambda: store.app_sign_in(name, password) if name and password else None,
    )
    if token is None:
        return _text("Error=BadAuthentication\n", 401)
    if params.get("output") == "json":
        return JSONResponse({"SID": token, "LSID": "null", "Auth": token})
    return _text(f"SID={token}\nLSID=null\nAuth={token}\n")


@router.get(API + "/token")
async def token(request: Request) -> Response:
    auth = _token(request) or ""
    return await _call(request, lambda *_: action_token(auth) + "\n")


@router.get(API + "/user-info")
async def user_info(request: Request) -> Response:
    def work(_store: Tidings, reader: Reader, _params: Params) -> dict[str, Any]:
        return {
            "userId": str(reader.id),
            "userName": reader.name,
            "userProfileId": str(reader.id),
            "userEmail": "",
        }

    return await _call(request, work)


# -- subscriptions and folders -------------------------------------------------------------


@router.get(API + "/subscription/list")
async def subscription_list(request: Request) -> Response:
    def work(store: Tidings, reader: Reader, _params: Params) -> dict[str, Any]:
        return {
            "subscriptions": [
                greader_json.subscription(s) for s in store.filed_subscriptions(reader)
            ]
        }

    return await _call(request, work)


def _subscribed(store: Tidings, reader: Reader, stream_id: str) -> Subscription:
    """The reader's subscription a ``feed/<url>`` (or ``feed/<source id>``) names."""
    named = ids.stream(stream_id)
    if named.kind != "feed":
        raise InputError("s", f"{stream_id[:80]!r} is not a feed")
    for s in store.filed_subscriptions(reader):
        if named.value in (s.source.url, str(s.source.id)):
            return s
    raise NotFound(f"{named.value[:200]} is not one of your subscriptions")


def _folder_of(params: Params, name: str) -> str | None:
    """The folder a ``user/-/label/<name>`` parameter names (None when absent)."""
    value = params.get(name)
    if not value:
        return None
    label = ids.label_name(value)
    if label is None:
        raise InputError(name, f"{value[:80]!r} is not a folder (user/-/label/<name>)")
    return label


@router.post(API + "/subscription/edit")
async def subscription_edit(request: Request) -> Response:
    """``ac`` = subscribe (fetches the feed: refused with 400 if it is none), unsubscribe or
    edit, for each ``s``; ``t`` a title, ``a``/``r`` a folder to put it in / take it out of."""

    def work(store: Tidings, reader: Reader, params: Params) -> str:
        action = params.get("ac", "edit")
        streams = params.getlist("s")[:100]
        if not streams:
            raise InputError("s", "name a feed (feed/<url>)")
        if action not in ("subscribe", "unsubscribe", "edit"):
            raise InputError("ac", f"{action[:40]!r} is not subscribe, unsubscribe or edit")
        add, take = _folder_of(params, "a"), _folder_of(params, "r")
        title = params.get("t")
        for stream_id in streams:
            if action == "subscribe":
                named = ids.stream(stream_id)
                if named.kind != "feed":
                    raise InputError("s", f"{stream_id[:80]!r} is not a feed")
                try:
                    _subscribed(store, reader, stream_id)
                except NotFound:
                    store.subscribe(reader.id, named.value)
            sub = _subscribed(store, reader, stream_id)
            if action == "unsubscribe":
                store.unsubscribe(reader.id, str(sub.source.id))
                continue
            folder: str | Any | None = KEEP
            if add is not None:
                folder = add
            elif take is not None and sub.folder is not None:
                folder = None if sub.folder.name.casefold() == take.casefold() else KEEP
            store.edit_subscription(
                reader, sub.source.id, title=KEEP if title is None else title, folder=folder
            )
        return "OK"

    return await _call(request, work, post=True)


@router.post(API + "/subscription/quickadd")
async def quickadd(request: Request) -> Response:
    def work(store: Tidings, reader: Reader, params: Params) -> dict[str, Any]:
        url = params.get("quickadd", "").strip().removeprefix("feed/")
        if not url:
            raise InputError("quickadd", "give the feed's address")
        source, _ = store.subscribe(reader.id, url)
        return {
            "numResults": 1,
            "query": url,
            "streamId": f"feed/{source.url}",
            "streamName": source.title or source.url,
        }

    return await _call(request, work, post=True)


@router.get(API + "/tag/list")
async def tag_list(request: Request) -> Response:
    def work(store: Tidings, reader: Reader, _params: Params) -> dict[str, Any]:
        tags = [{"id": ids.STARRED}, {"id": ids.label(ids.FOR_YOU), "type": "tag"}]
        tags += [{"id": ids.label(f.name), "type": "folder"} for f in store.folders(reader)]
        return {"tags": tags}

    return await _call(request, work)


@router.post(API + "/rename-tag")
async def rename_tag(request: Request) -> Response:
    def work(store: Tidings, reader: Reader, params: Params) -> str:
        old, new = _folder_of(params, "s"), _folder_of(params, "dest")
        if old is None or new is None:
            raise InputError("dest", "rename needs s and dest (user/-/label/<name>)")
        store.rename_folder(reader, old, new)
        return "OK"

    return await _call(request, work, post=True)


@router.post(API + "/disable-tag")
async def disable_tag(request: Request) -> Response:
    def work(store: Tidings, reader: Reader, params: Params) -> str:
        name = _folder_of(params, "s")
        if name is None:
            raise InputError("s", "name the folder (user/-/label/<name>)")
        store.remove_folder(reader, name)
        return "OK"

    return await _call(request, work, post=True)


@router.get(API + "/unread-count")
async def unread_count(request: Request) -> Response:
    def work(store: Tidings, reader: Reader, _params: Params) -> dict[str, Any]:
        counts = store.unread_counts(reader)
        listed = store.filed_subscriptions(reader)
        rows = [{"id": f"feed/{s.source.url}", "count": counts.get(s.source.id, 0)} for s in listed]
        per_folder: dict[str, int] = {}
        for s in listed:
            if s.folder is not None:
                per_folder[s.folder.name] = per_folder.get(s.folder.name, 0) + counts.get(
                    s.source.id, 0
                )
        rows += [{"id": ids.label(name), "count": n} for name, n in sorted(per_folder.items())]
        total = sum(counts.values())
        rows.append({"id": ids.READING_LIST, "count": total})
        return {"max": total, "unreadcounts": rows}

    return await _call(request, work)


# -- streams -------------------------------------------------------------------------------


def _excluded(params: Params) -> tuple[bool | None, bool | None]:
    """(read, starred) as ``xt`` (exclude) and ``it`` (include only) ask."""
    read: bool | None = None
    starred: bool | None = None
    for name, wanted in (("xt", False), ("it", True)):
        for value in params.getlist(name)[:4]:
            if not value.strip():
                continue
            state = ids.state_name(value)
            if state == "read":
                read = wanted
            elif state == "starred":
                starred = wanted
            elif state == "kept-unread" and wanted:
                read = False
            elif state in ("reading-list", "fresh"):
                continue
            else:
                raise InputError(name, f"{value[:80]!r} is not a state this server filters by")
    return read, starred


def _stream(store: Tidings, reader: Reader, params: Params, stream_id: str) -> Stream:
    """The :class:`Stream` a stream id and ``xt``/``it``/``ot``/``nt``/``r`` ask for."""
    named = ids.stream(stream_id)
    read, starred = _excluded(params)
    source_ids = None
    if named.kind == "starred":
        starred = True
    elif named.kind == "read":
        read = True
    elif named.kind == "feed":
        source_ids = [_subscribed(store, reader, stream_id).source.id]
    elif named.kind == "label":
        filed = [
            s.source.id
            for s in store.filed_subscriptions(reader)
            if s.folder is not None and s.folder.name.casefold() == named.value.casefold()
        ]
        if not filed and not any(
            f.name.casefold() == named.value.casefold() for f in store.folders(reader)
        ):
            raise NotFound(f"no folder {named.value[:200]!r}")
        source_ids = filed
    order = params.get("r", "")
    if order not in ("", "o", "n", "d"):
        raise InputError("r", f"{order[:10]!r} is not o (oldest first) or n (newest first)")
    return Stream(
        source_ids=source_ids,
        starred=starred,
        read=read,
        newer_than=ids.time_from(params.get("ot"), field="ot"),
        older_than=ids.time_from(params.get("nt"), field="nt"),
        oldest_first=order == "o",
    )


def _for_you(
    store: Tidings, reader: Reader, params: Params, *, default: int
) -> tuple[list[tuple[Item, str, str]], str | None]:
    """A page of the reader's ranked feed as (item, reason, headline), logged as shown
    before it is answered (the app fetches those items' contents next), and the
    continuation."""
    limit = ids.count(params.get("n"), default=default, most=MAX_FOR_YOU)
    page = store.feed(reader, limit=limit, cursor=params.get("c") or None, record=False)
    store.record_shown(page, now=True)
    shown = store.stream_items(reader, [f.article.id for f in page.items])
    found = {i.article.id: i for i in shown}
    ranked = [
        (found[f.article.id], f.reason.text, f.headline)
        for f in page.items
        if f.article.id in found
    ]
    return ranked, page.next_cursor


def _contents(store: Tidings, reader: Reader, params: Params, stream_id: str) -> dict[str, Any]:
    rendering = greader_json.Rendering(store, reader)
    body: dict[str, Any] = {
        "id": stream_id,
        "updated": int(datetime.now(UTC).timestamp()),
    }
    if ids.stream(stream_id).kind == "for-you":
        ranked, more = _for_you(store, reader, params, default=20)
        body["title"] = ids.FOR_YOU
        body["items"] = [rendering.item(i, reason=r, title=h) for i, r, h in ranked]
    else:
        stream = _stream(store, reader, params, stream_id)
        limit = ids.count(params.get("n"), default=20, most=MAX_ITEMS)
        refs, more = store.stream(reader, stream, limit=limit, after=params.get("c") or None)
        found = store.stream_items(reader, [r.id for r in refs])
        body["items"] = [rendering.item(i) for i in found]
    if more:
        body["continuation"] = more
    return body


@router.get(API + "/stream/contents/{stream_id:path}")
async def stream_contents(request: Request, stream_id: str) -> Response:
    return await _call(request, lambda s, r, p: _contents(s, r, p, stream_id))


@router.get(API + "/stream/contents")
async def stream_contents_by_param(request: Request) -> Response:
    return await _call(request, lambda s, r, p: _contents(s, r, p, p.get("s") or ids.READING_LIST))


@router.get(API + "/stream/items/ids")
async def stream_item_ids(request: Request) -> Response:
    """``s`` (required), ``n`` (up to 10,000), ``c``, ``xt``, ``it``, ``ot``, ``nt``, ``r``:
    item refs with short ids, and a continuation while there are more."""

    def work(store: Tidings, reader: Reader, params: Params) -> dict[str, Any]:
        stream_id = params.get("s")
        if not stream_id:
            raise InputError("s", "name the stream (s=user/-/state/com.google/reading-list)")
        if ids.stream(stream_id).kind == "for-you":
            ranked, more = _for_you(store, reader, params, default=20)
            refs = [(i.article.id, i.article.fetched) for i, _, _ in ranked]
        else:
            stream = _stream(store, reader, params, stream_id)
            limit = ids.count(params.get("n"), default=20, most=MAX_IDS)
            page, more = store.stream(reader, stream, limit=limit, after=params.get("c") or None)
            refs = [(r.id, r.fetched) for r in page]
        body: dict[str, Any] = {
            "itemRefs": [
                {"id": str(i), "directStreamIds": [], "timestampUsec": str(micros(when))}
                for i, when in refs
            ]
        }
        if more:
            body["continuation"] = more
        return body

    return await _call(request, work)


def _item_ids(params: Params) -> list[int]:
    given = params.getlist("i")
    if not given:
        raise InputError("i", "name at least one item")
    if len(given) > MAX_ITEMS:
        raise InputError("i", f"at most {MAX_ITEMS} items a call")
    return [ids.item_id(i) for i in given]


@router.api_route(API + "/stream/items/contents", methods=["GET", "POST"])
async def stream_items_contents(request: Request) -> Response:
    """The items ``i`` names (short or long ids), in the order given; ids of articles the
    reader may not see are left out, as unknown ones are."""

    def work(store: Tidings, reader: Reader, params: Params) -> dict[str, Any]:
        rendering = greader_json.Rendering(store, reader)
        found = store.stream_items(reader, _item_ids(params))
        return {
            "id": ids.READING_LIST,
            "updated": int(datetime.now(UTC).timestamp()),
            "items": [rendering.item(i) for i in found],
        }

    return await _call(request, work, post=request.method == "POST")


# -- marking -------------------------------------------------------------------------------


@router.post(API + "/edit-tag")
async def edit_tag(request: Request) -> Response:
    """``a`` adds, ``r`` removes read, starred or kept-unread on the items ``i`` names. Ids
    the reader may not see are ignored; a folder label on an item is accepted and ignored
    (folders hold feeds here, not items)."""

    def work(store: Tidings, reader: Reader, params: Params) -> str:
        visible = store.visible_ids(reader, _item_ids(params))
        for name, adding in (("a", True), ("r", False)):
            for value in params.getlist(name)[:10]:
                state = ids.state_name(value)
                if state == "read":
                    store.mark_read(reader, visible, read=adding)
                elif state == "kept-unread":
                    store.mark_read(reader, visible, read=not adding)
                elif state == "starred":
                    store.star(reader, visible, starred=adding)
                elif state is None and ids.label_name(value) is not None:
                    continue
                elif state not in ("fresh", "reading-list", "broadcast", "like"):
                    raise InputError(name, f"{value[:80]!r} is not a tag this server sets")
        return "OK"

    return await _call(request, work, post=True)


@router.post(API + "/mark-all-as-read")
async def mark_all_as_read(request: Request) -> Response:
    """Everything of stream ``s`` fetched up to ``ts`` (microseconds or seconds; now when
    absent) is read: ``ts`` included, as apps send the ``timestampUsec`` of the newest item
    they showed (and FreshRSS marks up to it, inclusive)."""

    def work(store: Tidings, reader: Reader, params: Params) -> str:
        stream_id = params.get("s") or ids.READING_LIST
        named = ids.stream(stream_id)
        before = ids.time_from(params.get("ts"), field="ts")
        if before is not None:  # the library's cut-off is exclusive (and never past now)
            before = min(before, datetime.now(UTC)) + timedelta(microseconds=1)
        if named.kind == "reading-list":
            store.mark_all_read(reader, before=before)
        elif named.kind in ("feed", "label"):
            stream = _stream(store, reader, MultiDict(), stream_id)
            for source_id in stream.source_ids or []:
                store.mark_all_read(reader, before=before, source=source_id)
        else:
            raise InputError(
                "s", f"{stream_id[:80]!r} cannot be marked read at once: mark its items"
            )
        return "OK"

    return await _call(request, work, post=True)
