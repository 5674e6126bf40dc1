"""Where tidings keeps its data, and the settings a user can override."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

DATABASE_URL_ENV = "TIDINGS_DATABASE_URL"
FETCH_ALLOW_ENV = "TIDINGS_FETCH_ALLOW"
BASE_URL_ENV = "TIDINGS_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def default_database_url() -> str:
    """SQLite in the user's data directory (created on demand)."""
    folder = Path(user_data_dir("tidings", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'tidings.db'}"


def database_url(explicit: str | None = None) -> str:
    """The database to use: ``--db`` wins, then ``TIDINGS_DATABASE_URL``, then the default.

    A bare file path is taken as a SQLite file, so ``--db news.db`` works.
    """
    url = explicit or os.environ.get(DATABASE_URL_ENV) or default_database_url()
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def fetch_allow() -> str:
    """``TIDINGS_FETCH_ALLOW``: host names and CIDR ranges the fetcher may reach although they
    are not public addresses (comma-separated; empty when unset). Parsed by
    :func:`tidings.ingest.guard.parse_allow_list`."""
    return os.environ.get(FETCH_ALLOW_ENV, "")


def base_url(explicit: str | None = None) -> str:
    """The server's public address (``TIDINGS_BASE_URL``; ``tidings serve --base-url``): the
    links it hands out, such as the private feed's, are built on it, never on a request's
    Host header, which any client sets. ``https://`` also marks cookies ``Secure``.

    Raises :class:`~tidings.errors.InputError` naming the setting unless it is an absolute
    http(s) URL (a path after the host is kept, for a server behind a prefix)."""
    from urllib.parse import urlsplit

    from tidings.errors import InputError

    url = (explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number
    except ValueError:  # that, or an unbalanced "["
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        raise InputError(
            BASE_URL_ENV, f"{url!r} is not an absolute http(s) URL such as {DEFAULT_BASE_URL}"
        )
    return url
