"""Opening a database: engine, SQLite pragmas, and migrations to the newest schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the web app, the CLI) work while an ingest writes; foreign keys
    # are off by default in SQLite; a busy timeout turns brief lock contention into a wait.
    # Measured on a bulk ingest (7,336 articles): a multi-row insert's statement journal
    # outgrows SQLite's 64 KB in-memory allowance and went to a temporary file, doubling what
    # was written (185 MB against 88). Temporary data is never durable, so keeping it in
    # memory costs no safety. (A 16 MB page cache saved 7 MB more, but per connection, and
    # a server holds dozens: left at the default.)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()
    # SQLite's lower() folds ASCII only: search compares names ("Österreich Heute") folded.
    dbapi_connection.create_function("tidings_fold", 1, _fold, deterministic=True)


def _fold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def create(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL switched on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        pool: dict[str, int] = {}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # The web app serves from a thread pool: with the default pool (5 + 10 overflow)
            # its threads keep reopening connections, each with an empty page cache.
            pool = {"pool_size": 20, "max_overflow": 20}
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default; a no-op when it is there)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to alter it; with foreign keys on, dropping the old copy
            # would cascade-delete every row that points at it. Off for the migration only.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # Several workers may start at once: one migrates, the others wait for it.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7426100)")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
