"""Shared test fixtures: where the real data lives, and a store per database backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.httpd import Site
from tidings.library import Tidings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# The fetcher refuses loopback addresses by default; the tests' servers are on 127.0.0.1.
# Set in the environment so that it holds in subprocesses too (tests/test_fetch.py
# overrides it to show the default).
os.environ["TIDINGS_FETCH_ALLOW"] = "127.0.0.1/32"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only folder of real inputs (``../shared`` beside the project). A newcomer's
    clone has none: the tests that need it are skipped, saying so, unless
    ``TIDINGS_REQUIRE_SHARED`` is set (CI sets it, so there a missing folder fails)."""
    if not SHARED.is_dir():
        if os.environ.get("TIDINGS_REQUIRE_SHARED"):
            pytest.fail(f"the real data folder is missing: {SHARED}")
        pytest.skip(f"needs the real data folder {SHARED} (../shared beside the project)")
    return SHARED


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in ``folder``, or a PostgreSQL schema
    dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'tidings.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield _postgres_schema_url(schema)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@contextmanager
def understood_store(backend: str, folder: Path, inputs: list[Path]) -> Iterator[Tidings]:
    """A store on ``backend`` with ``inputs`` ingested and understood (for module fixtures
    that many tests share, each test using readers of its own)."""
    with fresh_database(backend, folder) as url, Tidings(url) as tidings:
        assert all(r.status == "ok" for r in tidings.ingest([str(p) for p in inputs]))
        tidings.understand()
        yield tidings


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SEED = "seed/000_423f00d2bfa5128c.txt"


@pytest.fixture(scope="module", params=BACKENDS)
def web_store(
    request: pytest.FixtureRequest, shared: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tidings]:
    """The seed and the Guardian feed, understood, on each backend: what the web tests
    serve (one store per test module; each test signs up readers of its own)."""
    inputs = [shared / SEED, shared / "data/feeds/guardian.rss"]
    with understood_store(request.param, tmp_path_factory.mktemp("web"), inputs) as tidings:
        yield tidings


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend: a SQLite file, or a PostgreSQL schema."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def tidings(database_url: str) -> Iterator[Tidings]:
    """An open store on each backend."""
    with Tidings(database_url) as store:
        yield store


@pytest.fixture(scope="session")
def http_server(shared: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving ``shared/`` (tests never reach the internet)."""
    with Site(directory=shared) as site:
        yield site.url
