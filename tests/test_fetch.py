"""The fetcher against real HTTP servers on 127.0.0.1 (and 127.0.0.2), serving the real feeds:
conditional GET, decoding, timeouts, the size cap, redirects and the address guard."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest

from tests.httpd import Site
from tidings.errors import FetchError
from tidings.ingest import guard
from tidings.ingest.fetch import USER_AGENT, fetch, fetch_conditional

FEED = "guardian.rss"
BOMB_BYTES = 64 * 1024 * 1024  # what a bomb decodes to; its body is a few KB at most
CAP = 1024 * 1024
RSS = {"Content-Type": "application/rss+xml"}
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "rawdeflate": lambda d: zlib.compress(d, wbits=-zlib.MAX_WBITS),  # said to be "deflate"
    "br": brotli.compress,
}
_BOMBS: dict[str, bytes] = {}


def _bomb(encoding: str) -> bytes:
    if encoding not in _BOMBS:
        zeros = b"\0" * BOMB_BYTES
        _BOMBS[encoding] = gzip.compress(zeros) if encoding == "gzip" else brotli.compress(zeros)
    return _BOMBS[encoding]


def _trickle() -> Iterator[bytes]:
    """Answers at once, then one byte every 0.1 s: no single read ever waits long."""
    for _ in range(50):
        yield b" "
        time.sleep(0.1)


def _huge() -> Iterator[bytes]:
    """64 MB of feed-looking bytes."""
    chunk = b"<item><title>again</title></item>\n" * 2000
    for _ in range(64 * 1024 * 1024 // len(chunk)):
        yield chunk


def _serve(host: str, feeds: Path) -> Iterator[Site]:
    """The feed with an ETag and a Last-Modified (answering 304 when unchanged), encoded
    copies of it, a redirect loop, and bodies that trickle or are huge, said so or not."""
    with Site(host) as site:
        path = feeds / FEED
        data = path.read_bytes()
        site.serve(f"/feeds/{FEED}", data, headers=RSS, modified=int(path.stat().st_mtime))
        site.serve(f"/feeds/{FEED}?bare304=1", b"", status=304)  # repeating no validators
        for encoding, encode in ENCODERS.items():
            header = "deflate" if encoding == "rawdeflate" else encoding
            headers = {**RSS, "Content-Encoding": header}
            site.serve(f"/encoded/{encoding}/{FEED}", encode(data), headers=headers, etag=False)
        site.serve("/loop", b"", status=302, headers={"Location": "/loop"})
        site.serve("/trickle", _trickle)
        site.serve("/huge", _huge, headers=RSS)
        declared = {**RSS, "Content-Length": str(64 * 1024 * 1024)}
        site.serve("/huge?declared=1", _huge, headers=declared)
        yield site


def redirect(site: Site, to: str, status: int = 302) -> str:
    """The URL of a page on ``site`` that redirects to ``to``."""
    return site.serve("/redirect", b"", status=status, headers={"Location": to})


@pytest.fixture(scope="module")
def _site(shared: Path) -> Iterator[Site]:
    yield from _serve("127.0.0.1", shared / "data/feeds")


@pytest.fixture(scope="module")
def _other_site(shared: Path) -> Iterator[Site]:
    yield from _serve("127.0.0.2", shared / "data/feeds")


@pytest.fixture
def site(_site: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    """The server on 127.0.0.1, which the allow-list lets through (as in every test)."""
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW", "127.0.0.1/32")
    _site.seen.clear()
    return _site


@pytest.fixture
def other_site(_other_site: Site) -> Site:
    """A second server, on 127.0.0.2: loopback too, but outside 127.0.0.1/32."""
    _other_site.seen.clear()
    return _other_site


# -- a polite client -----------------------------------------------------------------------


def test_a_feed_is_fetched_as_a_document_saying_where_it_came_from(
    site: Site, shared: Path
) -> None:
    url = f"{site.url}/feeds/{FEED}"
    doc = fetch(url)
    assert doc.data == (shared / "data/feeds" / FEED).read_bytes()
    assert (doc.name, doc.url, doc.content_type) == (url, url, "application/rss+xml")


def test_each_request_names_tidings_and_asks_for_compressed_bodies(site: Site) -> None:
    fetch(f"{site.url}/feeds/{FEED}")
    (seen,) = site.seen
    assert seen.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("tidings/")
    assert {e.strip() for e in seen.headers["accept-encoding"].split(",")} == {
        "gzip",
        "deflate",
        "br",
    }
    assert "if-none-match" not in seen.headers and "if-modified-since" not in seen.headers


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "rawdeflate", "br"])
def test_compressed_bodies_are_decoded(site: Site, shared: Path, encoding: str) -> None:
    doc = fetch(f"{site.url}/encoded/{encoding}/{FEED}")
    assert doc.data == (shared / "data/feeds" / FEED).read_bytes()


# -- conditional GET -----------------------------------------------------------------------


def test_a_first_fetch_gives_the_validators_to_send_next_time(site: Site) -> None:
    first = fetch_conditional(f"{site.url}/feeds/{FEED}")
    assert first.status == 200 and not first.not_modified and first.document is not None
    assert first.etag and first.etag.startswith('"')
    assert first.last_modified and first.last_modified.endswith(" GMT")


def test_an_unchanged_feed_answers_304_and_nothing_is_downloaded(site: Site) -> None:
    url = f"{site.url}/feeds/{FEED}"
    first = fetch_conditional(url)
    again = fetch_conditional(url, etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.status == 304 and again.document is None
    assert (again.etag, again.last_modified) == (first.etag, first.last_modified)
    sent = site.seen[-1].headers
    assert sent["if-none-match"] == first.etag
    assert sent["if-modified-since"] == first.last_modified


def test_last_modified_alone_is_enough_for_a_304(site: Site) -> None:
    url = f"{site.url}/feeds/{FEED}"
    first = fetch_conditional(url)
    again = fetch_conditional(url, last_modified=first.last_modified)
    assert again.not_modified
    assert "if-none-match" not in site.seen[-1].headers


def test_a_changed_feed_is_downloaded_with_its_new_etag(site: Site) -> None:
    url = f"{site.url}/feeds/{FEED}"
    fresh = fetch_conditional(url)
    changed = fetch_conditional(url, etag='"an-older-version"')
    assert changed.status == 200 and changed.document is not None
    assert fresh.document is not None and changed.document.data == fresh.document.data
    assert changed.etag == fresh.etag != '"an-older-version"'


def test_a_304_without_validators_keeps_the_ones_sent(site: Site) -> None:
    url = f"{site.url}/feeds/{FEED}?bare304=1"
    fetched = fetch_conditional(url, etag='"v1"', last_modified="Mon, 02 Jan 2006 15:04:05 GMT")
    assert fetched.not_modified
    assert (fetched.etag, fetched.last_modified) == ('"v1"', "Mon, 02 Jan 2006 15:04:05 GMT")


def test_a_changed_body_without_validators_drops_the_old_ones(site: Site) -> None:
    fetched = fetch_conditional(f"{site.url}/encoded/gzip/{FEED}", etag='"v1"')
    assert fetched.document is not None
    assert (fetched.etag, fetched.last_modified) == (None, None)


# -- time and size -------------------------------------------------------------------------


def test_a_slow_server_times_out_with_a_clear_error(site: Site) -> None:
    url = site.serve("/slow", b"<rss/>", delay=3, etag=False)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(url, timeout=0.5)
    assert time.monotonic() - started < 2


def test_a_server_that_trickles_bytes_runs_into_the_deadline(site: Site) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(f"{site.url}/trickle", timeout=1, deadline=1)
    assert time.monotonic() - started < 3


def test_a_huge_body_is_cut_off_at_the_cap(site: Site) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"too large: more than 1 MB"):
        fetch(f"{site.url}/huge", max_bytes=CAP)
    assert time.monotonic() - started < 5


def test_a_body_declared_too_large_is_refused_before_it_is_read(site: Site) -> None:
    with pytest.raises(FetchError, match=r"too large: 67108864 bytes, the limit is 1 MB"):
        fetch(f"{site.url}/huge?declared=1", max_bytes=CAP)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compression_bomb_stops_at_the_cap_without_filling_memory(
    site: Site, encoding: str
) -> None:
    body = _bomb(encoding)  # made before measuring
    url = site.serve(f"/bomb/{encoding}", body, headers={"Content-Encoding": encoding}, etag=False)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="too large"):
            fetch(url, max_bytes=CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * CAP, f"{peak} bytes held while decoding a {BOMB_BYTES}-byte bomb"


# -- redirects -----------------------------------------------------------------------------


def test_a_redirect_is_followed_and_the_document_says_where_it_ended(site: Site) -> None:
    target = f"{site.url}/feeds/{FEED}"
    url = redirect(site, f"/feeds/{FEED}", status=301)
    doc = fetch(url)
    assert (doc.name, doc.url) == (url, target)


def test_a_redirect_loop_stops_at_the_cap(site: Site) -> None:
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(f"{site.url}/loop")
    assert site.paths() == ["/loop"] * 6  # the first request and five redirects


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://10.1.2.3/feed.xml", "a private address"),
        ("http://192.168.0.1/feed.xml", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[::1]/feed.xml", "a loopback address"),
        ("http://[::ffff:10.0.0.1]/feed.xml", "a private address"),
        ("http://0.0.0.0/feed.xml", "an unspecified address"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused(site: Site, target: str, reason: str) -> None:
    with pytest.raises(
        FetchError, match=rf"refused to connect to .*: not a public address \(it is {reason}\)"
    ):
        fetch(redirect(site, target))


def test_a_redirect_to_another_loopback_address_is_refused_unless_its_range_is_allowed(
    site: Site, other_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = redirect(site, f"{other_site.url}/feeds/{FEED}")
    with pytest.raises(
        FetchError, match=r"refused to connect to 127\.0\.0\.2: not a public address \(it is a loop"
    ):
        fetch(url)
    assert other_site.seen == []  # refused before connecting
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW", "127.0.0.0/8")
    assert fetch(url).url == f"{other_site.url}/feeds/{FEED}"
    assert other_site.paths() == [f"/feeds/{FEED}"]


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml"])
def test_a_redirect_to_another_scheme_is_refused(site: Site, target: str) -> None:
    with pytest.raises(FetchError, match=r"refused a redirect to .*only http and https"):
        fetch(redirect(site, target))


# -- the address guard ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1/", "feed.xml"]
)
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https URLs can be fetched"):
        fetch(url)


def test_loopback_is_refused_by_default(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIDINGS_FETCH_ALLOW")
    with pytest.raises(FetchError) as refused:
        fetch(f"{site.url}/feeds/{FEED}")
    assert str(refused.value) == (
        "refused to connect to 127.0.0.1: not a public address (it is a loopback address); "
        "set TIDINGS_FETCH_ALLOW to allow it (e.g. 127.0.0.1/32)"
    )
    assert site.seen == []


def test_loopback_is_fetched_when_its_range_is_allowed(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW", "127.0.0.1/32")
    assert fetch(f"{site.url}/feeds/{FEED}").data


def test_a_host_name_is_allowed_by_name(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{site.url.replace('127.0.0.1', 'localhost')}/feeds/{FEED}"
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW", "feeds.lan, LOCALHOST.")
    assert fetch(url).url == url
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW", "feeds.lan")
    with pytest.raises(FetchError) as refused:
        fetch(url)
    assert str(refused.value) == (
        "refused to connect to localhost: not a public address; set TIDINGS_FETCH_ALLOW to allow it"
    )


def test_a_dns_answer_pointing_inside_is_refused_and_connections_go_to_the_checked_address(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public-looking name that resolves to loopback is refused; when allowed, the name is
    resolved once and the connection goes to the address that was checked."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real("127.0.0.1" if host == "feeds.example.com" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    url = site.url.replace("127.0.0.1", "feeds.example.com") + f"/feeds/{FEED}"
    monkeypatch.delenv("TIDINGS_FETCH_ALLOW")
    with pytest.raises(FetchError, match=r"feeds\.example\.com: not a public address") as refused:
        fetch(url)
    assert "127.0.0.1" not in str(refused.value)  # where the name points is not told
    assert site.seen == []
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW", "127.0.0.1/32")
    lookups.clear()
    assert fetch(url).data
    assert lookups.count("feeds.example.com") == 1
    assert site.seen[-1].headers["host"].startswith("feeds.example.com:")


@pytest.mark.parametrize("entry", ["not a host!", "10.0.0.0/33", "10.0.0.300", "http://feeds.lan"])
def test_a_bad_allow_list_entry_is_an_error_naming_it(
    site: Site, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    monkeypatch.setenv("TIDINGS_FETCH_ALLOW", f"127.0.0.1/32, {entry}")
    with pytest.raises(FetchError, match="TIDINGS_FETCH_ALLOW") as bad:
        fetch(f"{site.url}/feeds/{FEED}")
    assert repr(entry) in str(bad.value)
    assert site.seen == []


def test_the_allow_list_takes_names_addresses_and_ranges() -> None:
    allow = guard.parse_allow_list(" feeds.lan, Bücher.Example., 192.168.1.7, fd00::/8 ,, ")
    assert allow.hosts == {"feeds.lan", "xn--bcher-kva.example"}
    assert [str(n) for n in allow.networks] == ["192.168.1.7/32", "fd00::/8"]
    assert guard.parse_allow_list("") == guard.NOTHING_ALLOWED


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("127.0.0.2", "a loopback address"),
        ("::1", "a loopback address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.251", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("192.0.0.192", "a reserved address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("2002:a00:1::", "a private address"),  # 6to4 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64 of 169.254.169.254
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
        ("::ffff:93.184.215.14", None),
    ],
)
def test_which_addresses_are_not_public(address: str, reason: str | None) -> None:
    assert guard.blocked_reason(ipaddress.ip_address(address)) == reason
