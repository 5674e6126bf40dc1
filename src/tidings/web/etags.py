"""HTTP validators: an ``ETag`` on pages and API lists, and ``304 Not Modified`` when the
client already holds that version (``If-None-Match``).

A feed page that has not changed for its reader is answered without its body; the feed
routes set their own tag (they log impressions only for a page actually sent), every other
``GET`` answer of JSON or HTML is tagged here by :class:`ConditionalGet` from its body.
Tags are private to the caller (``Cache-Control: private, no-cache``): a shared cache must
neither keep nor share a reader's feed, and a client must ask again each time.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHE_CONTROL = "private, no-cache"
MAX_TAGGED = 4 * 2**20  # bodies larger than this are sent as they come, untagged
_TAGGED_TYPES = ("application/json", "text/html", "application/atom+xml")


def etag(body: bytes) -> str:
    """A strong validator of ``body``."""
    return quoted(hashlib.blake2b(body, digest_size=12).hexdigest())


def quoted(digest: str) -> str:
    """An entity tag of a digest made already."""
    return f'"{digest}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``tag`` (weakly compared, as RFC 9110
    asks for this header), or is ``*``."""
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def not_modified(request: Request, body: bytes, digest: str | None = None) -> tuple[bool, str]:
    """(whether the client holds ``body`` already, its tag); ``digest``: of ``body``,
    made already (a kept feed page's)."""
    tag = quoted(digest) if digest is not None else etag(body)
    return matches(request.headers.get("if-none-match"), tag), tag


class ConditionalGet:
    """Tags successful ``GET`` answers of JSON, HTML or Atom that carry no tag of their own,
    and answers 304 without the body when the request's ``If-None-Match`` names it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        asked = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def buffered(message: Message) -> None:
            nonlocal start, size, passing
            if passing or message["type"] not in ("http.response.start", "http.response.body"):
                await send(message)  # (a test client's template debug message, say)
                return
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                media = headers.get("content-type", "").split(";")[0].strip()
                if (
                    message["status"] != 200
                    or "etag" in headers
                    or media not in _TAGGED_TYPES
                    or "content-encoding" in headers
                ):
                    passing = True
                    await send(message)
                else:
                    start = message
                return
            assert start is not None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if message.get("more_body", False):
                if size > MAX_TAGGED:  # too big to hold: send it untagged, as it comes
                    passing = True
                    await send(start)
                    await send({"type": "http.response.body", "body": b"".join(chunks),
                                "more_body": True})  # fmt: skip
                return
            body = b"".join(chunks)
            tag = etag(body)
            headers = MutableHeaders(raw=start["headers"])
            headers["ETag"] = tag
            headers.setdefault("Cache-Control", CACHE_CONTROL)
            if matches(asked, tag):
                del headers["content-type"]
                del headers["content-length"]
                await send({**start, "status": 304})
                await send({"type": "http.response.body", "body": b""})
                return
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)
