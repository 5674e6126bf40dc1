"""Where tidings keeps its data, and the settings a user can override."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

DATABASE_URL_ENV = "TIDINGS_DATABASE_URL"
FETCH_ALLOW_ENV = "TIDINGS_FETCH_ALLOW"


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
