"""The Fever API (issue 15, item 3) at ``/api/fever``, as Miniflux and FreshRSS speak it, so
apps such as Reeder and ReadKit sync a reader's subscriptions and read/starred state.

Fever puts everything in one endpoint: flags in the query (``?api&items&since_id=5``) and
``api_key`` (MD5 hex of "name:app-password") in the form body, though apps vary, so both are
read. Ids are article and source ids; groups are the reader's folders; only the reader's own
subscriptions are listed, and a mark naming anything else is ignored, as Fever servers do.
Fever's "Hot" links are the reader's ranked feed, "For you". Every mark goes through the
library, so it is also an event the feed learns from.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tidings.errors import InputError
from tidings.library import Tidings
from tidings.safety import safe_url
from tidings.store.fever_items import PAGE, FeverItem
from tidings.store.folders import Subscription
from tidings.store.readers import Reader
from tidings.web.params import query_and_form
from tidings.web.throttle import found_or_none

router = APIRouter()
KINDLING = 0  # Fever's group of every feed: marking it read marks all
LINKS_PAGE = 50
MAX_LINK_PAGES = 4  # the ranked feed's longest page is 200 stories
_NUMBER = re.compile(r"\d{1,15}")
MAX_KEY = 200
MAX_FIELDS = 100  # a Fever call has a handful of fields
MAX_FIELD = 20_000  # with_ids of 50 ids, a mark: far less


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


def _mark(
    store: Tidings, reader: Reader, params: Mapping[str, str], listed: list[Subscription]
) -> None:
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
        if what == "group" and target == KINDLING:
            store.mark_all_read(reader, before=cut)
            return
        for s in listed:  # a feed or folder that is not the reader's marks nothing
            filed = s.folder is not None and s.folder.id == target
            if (what == "feed" and s.source.id == target) or (what == "group" and filed):
                store.mark_all_read(reader, before=cut, source=s.source.id)
    else:
        raise _Malformed(f"mark: {what[:40]!r} is not item, feed or group")


def _links(store: Tidings, reader: Reader, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """Fever's "Hot" links are tidings' ranked feed ("For you"): a link per story, the
    reason after its headline, hotter first; ``page`` of :data:`LINKS_PAGE`. Those answered
    are logged as shown, as a web feed page is, and their items become fetchable."""
    page_number = _number(params, "page") or 1
    wanted = min(page_number, MAX_LINK_PAGES) * LINKS_PAGE
    page = store.feed(reader, limit=wanted, record=False)
    start = (page_number - 1) * LINKS_PAGE
    shown = replace(page, items=page.items[start : start + LINKS_PAGE], encoded=None)
    store.record_shown(shown, now=True)
    found = {
        i.article.id: i for i in store.stream_items(reader, [i.article.id for i in shown.items])
    }
    return [
        {
            "id": item.story_id,
            "feed_id": found[item.article.id].source.id if item.article.id in found else 0,
            "item_id": item.article.id,
            "temperature": round(max(item.score, 0.0) * 100, 1),
            "is_item": 1,
            "is_local": 1,
            "is_saved": int(item.article.id in found and found[item.article.id].state.starred),
            "title": f"{item.headline} — {item.reason.text}",
            "url": safe_url(item.article.url) or safe_url(item.article.canonical_url) or "",
            "item_ids": str(item.article.id),
        }
        for item in shown.items
    ]


def _answer(store: Tidings, reader: Reader, params: Mapping[str, str]) -> dict[str, Any]:
    listed = store.filed_subscriptions(reader)
    if "mark" in params:
        _mark(store, reader, params, listed)
    feeds = [s.source for s in listed]
    refreshed = max((_epoch(f.health.last_success) for f in feeds), default=0)
    body: dict[str, Any] = {"api_version": 3, "auth": 1, "last_refreshed_on_time": refreshed}
    folders = store.folders(reader)
    groups = [
        {
            "group_id": folder.id,
            "feed_ids": ",".join(
                str(s.source.id) for s in listed if s.folder and s.folder.id == folder.id
            ),
        }
        for folder in folders
    ]
    if "groups" in params:
        body["groups"] = [{"id": f.id, "title": f.name} for f in folders]
        body["feeds_groups"] = groups
    if "feeds" in params:
        body["feeds"] = [
            {
                "id": s.source.id,
                "favicon_id": 0,
                "title": s.title,
                "url": s.source.url,
                "site_url": s.source.site_url or "",
                "is_spark": 0,
                "last_updated_on_time": _epoch(s.source.health.last_success),
            }
            for s in listed
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
        body["links"] = _links(store, reader, params)
    return body


@router.api_route("/api/fever", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/api/fever/", methods=["GET", "POST"], include_in_schema=False)
async def fever(request: Request) -> JSONResponse:
    """One Fever call: authenticate by ``api_key``, apply a ``mark``, answer the flags."""
    store: Tidings = request.app.state.tidings
    try:
        params = await query_and_form(request, max_fields=MAX_FIELDS, max_length=MAX_FIELD)
    except InputError as bad:
        return JSONResponse({"api_version": 3, "auth": 0, "error": str(bad)}, status_code=400)
    key = params.get("api_key", "").strip()[:MAX_KEY]

    reader = await found_or_none(
        request,
        account=f"fever:{key}",
        find=lambda: store.reader_by_fever_key(key) if key else None,
    )
    if reader is None:
        return JSONResponse({"api_version": 3, "auth": 0}, status_code=401)
    try:
        body = await run_in_threadpool(_answer, store, reader, params)
    except _Malformed as bad:
        error = {"api_version": 3, "auth": 1, "error": str(bad)}
        return JSONResponse(error, status_code=400)
    return JSONResponse(body)
