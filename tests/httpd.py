"""A small, real HTTP server for the tests, on a loopback address (tests never reach the
internet).

A :class:`Site` answers from a table of :class:`Route` s, keyed by the request's path as sent
(query included), and falls back to serving the files of a folder when it is given one (or
to 404 when not). It records every request it is sent, and is started and stopped as a
context manager::

    with Site("127.0.0.1") as site:
        url = site.serve("/feed.xml", body, headers={"Content-Type": "application/rss+xml"})
        ...  # fetch url
        assert site.hits["/feed.xml"] == 1

It speaks HTTP/1.0, one connection per request, so a body sent without a length (a
streamed route) ends when the connection closes. It is quiet: no request log, and no
traceback when a client hangs up mid-answer, which is what many tests do.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Route:
    """How one path answers.

    ``body`` is bytes, sent with its Content-Length, or a function giving chunks to stream,
    sent as they come without a Content-Length (unless ``headers`` has one). A 200 answer
    carries an ETag (from the body's hash; bytes bodies with ``etag`` only) and a
    Last-Modified (with ``modified``, a POSIX time), and is a bodiless 304 repeating them
    when the request's If-None-Match names the ETag or, without If-None-Match, its
    If-Modified-Since is no older than ``modified``. ``headers`` go out as given (e.g.
    Content-Type, Content-Encoding for a body encoded by the test, Location, Retry-After).
    The answer waits for ``hold`` to be set (60 s at most), then ``delay`` seconds.
    """

    body: bytes | Callable[[], Iterable[bytes]]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hold: threading.Event | None = None
    etag: bool = True
    modified: float | None = None

    def validators(self) -> dict[str, str]:
        found = {}
        if self.status == 200 and self.etag and isinstance(self.body, bytes):
            found["ETag"] = f'"{hashlib.sha256(self.body).hexdigest()[:16]}"'
        if self.status == 200 and self.modified is not None:
            found["Last-Modified"] = formatdate(self.modified, usegmt=True)
        return found


@dataclass
class Seen:
    """A request as received: its path (query included) and its headers, names lowercased."""

    path: str
    headers: dict[str, str]


class Site:
    """A server on ``host`` (port chosen by the system, see ``url``), answering from
    ``routes``, else from the files under ``directory``, else 404.

    Records each request in ``seen`` (``hits`` counts them by path), each 304 it answered
    in ``not_modified``, and the most requests it was answering at once in ``most_active``.
    """

    def __init__(self, host: str = "127.0.0.1", *, directory: Path | None = None) -> None:
        self.directory = directory
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.not_modified: Counter[str] = Counter()
        self.active = self.most_active = 0
        self.lock = threading.Lock()
        self._server = _Server((host, 0), _Handler)
        self._server.site = self
        self.url = f"http://{host}:{self._server.server_address[1]}"

    def serve(self, path: str, body: bytes | Callable[[], Iterable[bytes]], **options: Any) -> str:
        """Answer ``path`` with a :class:`Route` of ``body`` and ``options``; its URL."""
        self.routes[path] = Route(body, **options)
        return self.url + path

    @property
    def hits(self) -> Counter[str]:
        """How many requests each path was sent."""
        with self.lock:
            return Counter(s.path for s in self.seen)

    def paths(self) -> list[str]:
        """The paths requested, in order."""
        with self.lock:
            return [s.path for s in self.seen]

    def __enter__(self) -> Site:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for route in self.routes.values():
            if route.hold is not None:
                route.hold.set()
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up on a huge, slow or held answer is what tests do


class _Handler(SimpleHTTPRequestHandler):
    server: _Server

    def __init__(self, request: Any, client_address: Any, server: _Server) -> None:
        super().__init__(request, client_address, server, directory=server.site.directory)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        site = self.server.site
        with site.lock:
            site.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
            site.active += 1
            site.most_active = max(site.most_active, site.active)
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                route = site.routes.get(self.path)
                if route is None:
                    super().do_GET()  # the folder's file, or 404 (see send_head)
                else:
                    self._answer(route)
        finally:
            with site.lock:
                site.active -= 1

    def send_head(self) -> Any:
        if self.server.site.directory is None:
            self.send_error(404)
            return None
        return super().send_head()

    def _answer(self, route: Route) -> None:
        if route.hold is not None:
            route.hold.wait(60)
        if route.delay:
            time.sleep(route.delay)
        validators = route.validators()
        if validators and self._unchanged(route, validators.get("ETag")):
            with self.server.site.lock:
                self.server.site.not_modified[self.path] += 1
            self._head(304, validators)
            return
        headers = {**validators, **route.headers}
        if isinstance(route.body, bytes) and route.status != 304:
            headers.setdefault("Content-Length", str(len(route.body)))
        self._head(route.status, headers)
        for chunk in [route.body] if isinstance(route.body, bytes) else route.body():
            self.wfile.write(chunk)

    def _unchanged(self, route: Route, etag: str | None) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_none_match is not None:
            return etag in [t.strip() for t in if_none_match.split(",")]
        if if_modified_since is not None and route.modified is not None:
            return parsedate_to_datetime(if_modified_since).timestamp() >= route.modified
        return False

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
