"""The Fever API (issue 15, item 3) at ``/api/fever``, as Miniflux and FreshRSS speak it, so
apps such as Reeder and ReadKit sync a reader's subscriptions and read/starred state.

Fever puts everything in one endpoint: flags in the query (``?api&items&since_id=5``) and
``api_key`` (MD5 hex of "name:app-password") in the form body, though apps vary, so both are
read. Ids are article and source ids; only the reader's own subscriptions are ever visible,
and a mark naming anything else is ignored, as Fever servers do. Every mark goes through the
library, so it is also an event the feed learns from.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tidings.errors import InputError
from tidings.library import Tidings
from tidings.store.fever_items import PAGE, FeverItem
from tidings.store.readers import Reader
from tidings.web.throttle import client_address, guard

router = APIRouter()
GROUP = {"id": 1, "title": "All"}  # tidings has no folders yet: one group of everything
_NUMBER = re.compile(r"\d{1,15}")
MAX_KEY = 200


class _Malformed(Exception):
    """A parameter a Fever client sent that is no number (answered 400, never 500)."""


def _number(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not _NUMBER.fullmatch(value.strip()):
        raise _Malformed(f"{name}: {value[:40]!r} is not a whole number of at most 15 digits")
    return int(value)


def _ids(value: str) -> list[int]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if any(not _NUMBER.fullmatch(p) for p in parts):
        raise _Malformed(f"with_ids: {value[:40]!r} is not a comma list of ids")
    return [int(p) for p in parts[:PAGE]]


def _epoch(when: datetime | None) -> int:
    return int(when.timestamp()) if when else 0


def _html(item: FeverItem) -> str:
    """Key points, then paragraphs, as escaped paragraphs: never markup we stored."""
    texts = [*item.article.key_points, *item.article.paragraphs]
    return "".join(f"<p>{html.escape(t)}</p>" for t in texts)


def _item(item: FeverItem) -> dict[str, Any]:
    a = item.article
    return {
        "id": a.id,
        "feed_id": item.source_id,
        "title": a.title,
        "author": a.byline or "",
        "html": _html(item),
        "url": a.url or a.canonical_url,
        "is_saved": int(item.state.starred),
        "is_read": int(item.state.read),
        "created_on_time": _epoch(a.published or a.fetched),
    }


def _mark(store: Tidings, reader: Reader, params: Mapping[str, str], feed_ids: set[int]) -> None:
    what, how = params.get("mark", ""), params.get("as", "")
    target = _number(params, "id")
    before = _number(params, "before")
    if target is None:
        raise _Malformed("mark: needs an id")
    cut = None if not before else datetime.fromtimestamp(before, UTC)
    if what == "item":
        if how not in ("read", "unread", "saved", "unsaved"):
            raise _Malformed(f"as: {how[:40]!r} is not read, unread, saved or unsaved")
        visible, _ = store.fever_items(reader, with_ids=[target], limit=1)
        if not visible:
            return  # not one of the reader's: ignored
        if how in ("read", "unread"):
            store.mark_read(reader, [target], read=how == "read")
        else:
            store.star(reader, [target], starred=how == "saved")
    elif what in ("feed", "group"):
        if how != "read":
            raise _Malformed(f"as: a {what} is only marked read")
        if what == "group" and target in (0, GROUP["id"]):
            store.mark_all_read(reader, before=cut)
        elif what == "feed" and target in feed_ids:
            store.mark_all_read(reader, before=cut, source=target)
    else:
        raise _Malformed(f"mark: {what[:40]!r} is not item, feed or group")


def _answer(store: Tidings, reader: Reader, params: Mapping[str, str]) -> dict[str, Any]:
    feeds = store.subscriptions(reader.id)
    feed_ids = {f.id for f in feeds}
    if "mark" in params:
        _mark(store, reader, params, feed_ids)
    refreshed = max((_epoch(f.health.last_success) for f in feeds), default=0)
    body: dict[str, Any] = {"api_version": 3, "auth": 1, "last_refreshed_on_time": refreshed}
    groups = [{"group_id": GROUP["id"], "feed_ids": ",".join(str(f.id) for f in feeds)}]
    if "groups" in params:
        body["groups"] = [GROUP]
        body["feeds_groups"] = groups
    if "feeds" in params:
        body["feeds"] = [
            {
                "id": f.id,
                "favicon_id": 0,
                "title": f.title or f.url,
                "url": f.url,
                "site_url": f.site_url or "",
                "is_spark": 0,
                "last_updated_on_time": _epoch(f.health.last_success),
            }
            for f in feeds
        ]
        body["feeds_groups"] = groups
    if "items" in params:
        with_ids = params.get("with_ids")
        found, total = store.fever_items(
            reader,
            since_id=_number(params, "since_id"),
            max_id=_number(params, "max_id"),
            with_ids=None if with_ids is None else _ids(with_ids),
        )
        body["items"] = [_item(i) for i in found]
        body["total_items"] = total
    if "unread_item_ids" in params:
        unread = store.unread_ids(reader, limit=100_000)
        body["unread_item_ids"] = ",".join(str(i) for i in sorted(unread))
    if "saved_item_ids" in params:
        starred = store.starred_ids(reader, limit=100_000)
        body["saved_item_ids"] = ",".join(str(i) for i in sorted(starred))
    if "favicons" in params:
        body["favicons"] = []
    if "links" in params:
        body["links"] = []
    return body


async def _params(request: Request) -> dict[str, str]:
    """Query and form fields together (the form wins): apps send either."""
    params = dict(request.query_params)
    if request.method == "POST":
        try:
            form = await request.form()
        except Exception:  # a body that is no form: only the query counts
            form = None
        if form is not None:
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


@router.api_route("/api/fever", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/api/fever/", methods=["GET", "POST"], include_in_schema=False)
async def fever(request: Request) -> JSONResponse:
    """One Fever call: authenticate by ``api_key``, apply a ``mark``, answer the flags."""
    store: Tidings = request.app.state.tidings
    params = await _params(request)
    key = params.get("api_key", "").strip()[:MAX_KEY]

    def check() -> Reader:
        found = store.reader_by_fever_key(key) if key else None
        if found is None:
            raise InputError("api_key", "no such Fever API key")
        return found

    try:
        reader = await guard(request).attempt(
            account=f"fever:{key}", address=client_address(request), check=check
        )
    except InputError:
        return JSONResponse({"api_version": 3, "auth": 0}, status_code=401)
    try:
        body = await run_in_threadpool(_answer, store, reader, params)
    except _Malformed as bad:
        error = {"api_version": 3, "auth": 1, "error": str(bad)}
        return JSONResponse(error, status_code=400)
    return JSONResponse(body)
