"""Accounts: passwords (argon2), sessions, private feed tokens and newsroom API keys.

Secrets a client holds (session tokens, API keys) are stored only as SHA-256 digests, so a
copy of the database does not let anyone sign in. The feed token is stored as is: it only
reads one feed, and the settings page must be able to show the link again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from tidings.store.readers import Reader, to_reader
from tidings.store.schema import api_keys, readers, sessions

SESSION_LIFETIME = timedelta(days=30)
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # what the client holds (cookie or bearer token)
    csrf: str  # what a page's forms echo back
    reader: Reader


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def set_password(connection: Connection, reader_id: int, password: str) -> None:
    connection.execute(
        update(readers)
        .where(readers.c.id == reader_id)
        .values(password_hash=_hasher.hash(password))
    )


def check_password(connection: Connection, name: str, password: str) -> Reader | None:
    """The reader if ``password`` is theirs (the same answer for unknown names)."""
    row = connection.execute(select(readers).where(readers.c.name == name.strip())).first()
    stored = row.password_hash if row is not None else None
    try:
        if stored is None:
            _hasher.verify(_DUMMY, password)  # spend the same time: names are not probed
            return None
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return to_reader(row)


_DUMMY = _hasher.hash("not a password anyone has")


def open_session(connection: Connection, reader: Reader, *, now: datetime) -> Session:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    connection.execute(
        insert(sessions).values(
            token_hash=digest(token),
            reader_id=reader.id,
            csrf=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return Session(token, csrf, reader)


def session(connection: Connection, token: str, *, now: datetime) -> Session | None:
    row = connection.execute(
        select(sessions.c.csrf, readers)
        .join(readers, readers.c.id == sessions.c.reader_id)
        .where(sessions.c.token_hash == digest(token), sessions.c.expires_at > now)
    ).first()
    return None if row is None else Session(token, row.csrf, to_reader(row))


def close_session(connection: Connection, token: str) -> None:
    connection.execute(delete(sessions).where(sessions.c.token_hash == digest(token)))


def feed_token(connection: Connection, reader_id: int, *, rotate: bool) -> str:
    """The reader's private feed token; a new one (the old link stops working) on rotate."""
    current = connection.execute(
        select(readers.c.feed_token).where(readers.c.id == reader_id)
    ).scalar_one()
    if current and not rotate:
        return current
    token = secrets.token_urlsafe(24)
    connection.execute(update(readers).where(readers.c.id == reader_id).values(feed_token=token))
    return token


def reader_by_feed_token(connection: Connection, token: str) -> Reader | None:
    row = connection.execute(select(readers).where(readers.c.feed_token == token)).first()
    return None if row is None else to_reader(row)


def add_api_key(connection: Connection, name: str, *, now: datetime) -> str:
    key = "tdk_" + secrets.token_urlsafe(32)
    connection.execute(insert(api_keys).values(name=name, key_hash=digest(key), created_at=now))
    return key


_KEY_NAME = select(api_keys.c.name).where(api_keys.c.key_hash == bindparam("digest"))


def api_key_name(connection: Connection, key: str) -> str | None:
    return connection.execute(_KEY_NAME, {"digest": digest(key)}).scalar_one_or_none()
