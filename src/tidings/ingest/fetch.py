"""Fetching one URL for ingest: timeouts, a size cap, a redirect cap, a clear User-Agent.

A later stage (polling) adds conditional GET and address guards on top of this.
"""

from __future__ import annotations

import httpx

from tidings import __version__
from tidings.errors import FetchError
from tidings.models import Document

USER_AGENT = f"tidings/{__version__} (+https://github.com/tidings-news/tidings)"
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
MAX_REDIRECTS = 5
MAX_BYTES = 20 * 1024 * 1024


def fetch(url: str, *, max_bytes: int = MAX_BYTES) -> Document:
    """GET ``url``; raises :class:`FetchError` naming what went wrong."""
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"only http and https URLs can be fetched, not {url!r}")
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    try:
        with (
            httpx.Client(
                timeout=TIMEOUT,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers=headers,
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"response larger than {max_bytes // (1024 * 1024)} MB")
                chunks.append(chunk)
            return Document(
                name=url,
                data=b"".join(chunks),
                url=str(response.url),
                content_type=response.headers.get("content-type"),
            )
    except httpx.TooManyRedirects as exc:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from exc
    except httpx.TimeoutException as exc:
        raise FetchError("timed out") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch: {exc}") from exc
