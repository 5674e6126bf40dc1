"""Fetching one URL, politely and safely.

Timeouts (each network step, and the fetch as a whole), a size cap that also holds for
compressed bodies (gzip, deflate and brotli are decoded here, in bounded steps, so a small
"compression bomb" cannot fill memory), a redirect cap, a clear User-Agent and conditional
GET (``If-None-Match`` / ``If-Modified-Since``) so that an unchanged feed costs one 304.

Only http and https URLs are fetched, and only from public addresses unless
``TIDINGS_FETCH_ALLOW`` says otherwise (see :mod:`tidings.ingest.guard`). The check is made
when connecting: the host is resolved here, every answer is checked and the connection goes
to a checked address, for the first request and for every redirect hop alike. Proxies from
the environment are not used, since through a proxy the addresses could not be checked.
"""

from __future__ import annotations

import functools
import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

from tidings import __version__
from tidings.errors import FetchError
from tidings.ingest import guard
from tidings.ingest.guard import AllowList
from tidings.models import Document

try:  # decodes "br" bodies; without it, tidings does not ask for them
    import brotli
except ImportError:  # pragma: no cover
    brotli = None

USER_AGENT = f"tidings/{__version__} (+https://github.com/tidings-news/tidings)"
TIMEOUT_SECONDS = 20.0  # the longest wait for any one network step (connect, read, write)
CONNECT_TIMEOUT_SECONDS = 10.0
DEADLINE_SECONDS = 60.0  # the whole fetch, redirects and body included
MAX_REDIRECTS = 5
MAX_BYTES = 20 * 1024 * 1024
SCHEMES = ("http", "https")
_HAS_BROTLI = brotli is not None and hasattr(brotli.Decompressor, "can_accept_more_data")
ACCEPT_ENCODING = "gzip, deflate, br" if _HAS_BROTLI else "gzip, deflate"


class HTTPStatusError(FetchError):
    """The server answered with an HTTP error (400 or more). ``status`` is its code and
    ``retry_after`` its Retry-After header as given (seconds or an HTTP date), if any: what
    a poller needs to back off politely (429 Too Many Requests, 503 Service Unavailable)."""

    def __init__(self, message: str, *, status: int, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a conditional GET brought back.

    ``document`` is None when the server answered 304 Not Modified: nothing was downloaded
    and the caller's copy is current. ``etag`` and ``last_modified`` are the validators to
    send next time (the server's new ones, or the ones sent when a 304 repeats none).
    """

    url: str  # the address the answer came from, after redirects
    status: int
    document: Document | None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.document is None


def fetch(
    url: str,
    *,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_SECONDS,
    deadline: float = DEADLINE_SECONDS,
    max_redirects: int = MAX_REDIRECTS,
    allow: AllowList | None = None,
) -> Document:
    """GET ``url``; raises :class:`FetchError` naming what went wrong.

    See :func:`fetch_conditional` for the options.
    """
    fetched = fetch_conditional(
        url,
        max_bytes=max_bytes,
        timeout=timeout,
        deadline=deadline,
        max_redirects=max_redirects,
        allow=allow,
    )
    assert fetched.document is not None  # a 304 is only accepted for a conditional request
    return fetched.document


def fetch_conditional(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_SECONDS,
    deadline: float = DEADLINE_SECONDS,
    max_redirects: int = MAX_REDIRECTS,
    allow: AllowList | None = None,
) -> Fetched:
    """GET ``url``, sending ``etag`` as If-None-Match and ``last_modified`` (an HTTP date, as
    the server gave it) as If-Modified-Since; raises :class:`FetchError` naming what went wrong.

    ``max_bytes`` caps the body after decoding; ``timeout`` is the longest wait for any one
    network step (connecting waits at most 10 s of it) and ``deadline`` the longest the whole
    fetch may take, in seconds. ``allow`` overrides ``TIDINGS_FETCH_ALLOW``.
    """
    if allow is None:
        allow = guard.allow_list_from_settings()
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    give_up_at = time.monotonic() + deadline
    _check_scheme(url, url)
    try:
        with httpx.Client(
            transport=GuardedTransport(allow),
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
            follow_redirects=False,
            trust_env=False,
            headers=headers,
        ) as client:
            request = client.build_request("GET", url)
            for _ in range(max_redirects + 1):
                _check_deadline(give_up_at, deadline)
                response = client.send(request, stream=True)
                try:
                    if response.next_request is None:
                        return _answer(
                            url, response, etag, last_modified, max_bytes, give_up_at, deadline
                        )
                    request = response.next_request
                finally:
                    response.close()
                _check_scheme(str(request.url), url, redirect=True)
            raise FetchError(f"more than {max_redirects} redirects (a redirect loop?)")
    except httpx.TimeoutException as exc:
        raise FetchError("timed out") from exc
    except httpx.InvalidURL as exc:
        raise FetchError(f"not a valid URL: {exc}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch: {exc}") from exc


def _answer(
    url: str,
    response: httpx.Response,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    give_up_at: float,
    deadline: float,
) -> Fetched:
    final_url = str(response.url)
    new_etag = response.headers.get("etag")
    new_last_modified = response.headers.get("last-modified")
    if response.status_code == 304:
        if not (etag or last_modified):
            raise FetchError("HTTP 304 Not Modified, but nothing was asked conditionally")
        # the copy the caller has stays current, and so do its validators unless replaced
        return Fetched(final_url, 304, None, new_etag or etag, new_last_modified or last_modified)
    if response.status_code >= 400:
        raise HTTPStatusError(
            f"HTTP {response.status_code} {response.reason_phrase}",
            status=response.status_code,
            retry_after=response.headers.get("retry-after"),
        )
    length = response.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"response too large: {length} bytes, the limit is {_size(max_bytes)}")
    data = _read_body(response, max_bytes, give_up_at, deadline)
    document = Document(
        name=url, data=data, url=final_url, content_type=response.headers.get("content-type")
    )
    return Fetched(final_url, response.status_code, document, new_etag, new_last_modified)


def _read_body(
    response: httpx.Response, max_bytes: int, give_up_at: float, deadline: float
) -> bytes:
    """The body, decoded, never holding much more than ``max_bytes`` of it."""
    encodings = _encodings(response.headers.get("content-encoding", ""))
    decoders = [_decoder(e) for e in reversed(encodings)]
    too_large = FetchError(f"response too large: more than {_size(max_bytes)}")
    chunks: list[bytes] = []
    size = raw_size = 0
    for raw in response.iter_raw():
        _check_deadline(give_up_at, deadline)
        raw_size += len(raw)
        if raw_size > max_bytes:
            raise too_large
        chunk = raw
        for decoder in decoders:
            chunk = decoder.decode(chunk, max_bytes - size)
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    for i, decoder in enumerate(decoders):
        chunk = decoder.flush()
        for later in decoders[i + 1 :]:
            chunk = later.decode(chunk, max_bytes - size)
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _check_scheme(target: str, asked: str, *, redirect: bool = False) -> None:
    scheme = target.split(":", 1)[0].lower() if ":" in target else ""
    if scheme in SCHEMES:
        return
    if redirect:
        raise FetchError(f"refused a redirect to {target!r}: only http and https URLs are fetched")
    raise FetchError(f"only http and https URLs can be fetched, not {asked!r}")


def _check_deadline(give_up_at: float, deadline: float) -> None:
    if time.monotonic() > give_up_at:
        raise FetchError(f"timed out: no complete answer within {deadline:g} s")


def _size(n: int) -> str:
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


# -- decoding, in bounded steps ------------------------------------------------------------


def _encodings(header: str) -> list[str]:
    """The content codings applied, in order; unknown ones are passed through (as httpx does)."""
    names = [e.strip().lower() for e in header.split(",")]
    return [n for n in names if n in ("gzip", "x-gzip", "deflate") or (n == "br" and _HAS_BROTLI)]


class _Decoder:
    """Decodes one content coding; ``decode(data, room)`` returns at most ``room + 1`` bytes,
    so more than ``room`` means the cap is exceeded (and the rest is never produced)."""

    def decode(self, data: bytes, room: int) -> bytes:
        raise NotImplementedError

    def flush(self) -> bytes:
        return b""


class _Inflate(_Decoder):
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        gzip = encoding in ("gzip", "x-gzip")
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self._raw_fallback = not gzip  # "deflate" is sometimes sent without its zlib header
        self._seen = False

    def decode(self, data: bytes, room: int) -> bytes:
        if not data:
            return b""
        try:
            out = self._inflater.decompress(data, room + 1)
        except zlib.error as exc:
            if not (self._raw_fallback and not self._seen):
                raise FetchError(f"could not decode the {self.encoding} body: {exc}") from exc
            self._raw_fallback = False
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.decode(data, room)
        self._seen = True
        return out

    def flush(self) -> bytes:
        try:
            return self._inflater.flush()
        except zlib.error as exc:
            raise FetchError(f"could not decode the {self.encoding} body: {exc}") from exc


class _Brotli(_Decoder):
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def decode(self, data: bytes, room: int) -> bytes:
        if not data:
            return b""
        try:
            parts = [self._decompressor.process(data, output_buffer_limit=room + 1)]
            size = len(parts[0])
            while size <= room and not self._decompressor.can_accept_more_data():
                more = self._decompressor.process(b"", output_buffer_limit=room + 1 - size)
                if not more:
                    break
                parts.append(more)
                size += len(more)
        except brotli.error as exc:
            raise FetchError(f"could not decode the br body: {exc}") from exc
        return b"".join(parts)


def _decoder(encoding: str) -> _Decoder:
    return _Brotli() if encoding == "br" else _Inflate(encoding)


# -- connecting only where the guard allows ------------------------------------------------


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves each host itself, keeps the addresses the allow-list lets through and
    connects to one of those, never to the name (so a second DNS answer cannot differ)."""

    def __init__(self, allow: AllowList) -> None:
        self._allow = allow
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = guard.allowed_addresses(host, guard.resolve(host, port), self._allow)
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise guard.AddressRefused(f"refused to connect to the Unix socket {path}")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, connecting through :class:`_GuardedBackend`."""

    def __init__(self, allow: AllowList) -> None:
        context = _ssl_context()
        super().__init__(verify=context, trust_env=False)
        # httpx takes no network backend, so the pool it built (nothing open yet) is replaced
        # by one with ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=_GuardedBackend(allow)
        )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA certificates takes a while: once per process."""
    return httpx.create_ssl_context()
