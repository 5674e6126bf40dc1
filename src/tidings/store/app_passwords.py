"""App passwords: what a native RSS app signs in with (Google Reader API ClientLogin with
the reader's name and one of these; Fever with ``api_key`` = MD5 hex of "name:password").

Each is random, shown once, and revocable on its own, so the web password never sits in an
app. Neither the password nor its Fever key is stored: an argon2 hash of the password, and a
SHA-256 of the Fever key. That digest is also what a sign-in looks the candidate up by, so
every check costs one indexed read and one argon2 verification, whether the name exists,
has app passwords or not: neither names nor how many passwords one has can be timed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, insert, or_, select, update

from tidings.errors import InputError, NotFound
from tidings.safety import clean_text
from tidings.store.accounts import digest
from tidings.store.readers import Reader, to_reader
from tidings.store.schema import app_passwords, app_tokens, readers

MAX_PER_READER = 20
MAX_LABEL = 200
# an app signing in again and again (a reinstall, a second device) keeps this many tokens
MAX_TOKENS_PER_PASSWORD = 20
# last_used_at is written at most this often: an app syncing every minute (many requests
# each) must not turn every read into a write.
TOUCH_EVERY = timedelta(minutes=1)
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not an app password anyone has")


@dataclass(frozen=True, slots=True)
class AppPassword:
    """One app password as its owner sees it listed: never the secret."""

    id: int
    label: str
    created: datetime
    last_used: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "created": self.created.isoformat(),
            "last_used": self.last_used.isoformat() if self.last_used else None,
        }


def fever_key(name: str, password: str) -> str:
    """The Fever API key an app sends for ``name`` and ``password``: MD5 hex of both."""
    return hashlib.md5(f"{name}:{password}".encode()).hexdigest()


def _key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.strip().lower().encode("utf-8")).hexdigest()


def _row(row: Any) -> AppPassword:
    return AppPassword(row.id, row.label, row.created_at, row.last_used_at)


def create(
    connection: Connection, reader_id: int, label: str, *, now: datetime
) -> tuple[AppPassword, str]:
    """A new app password for the reader and the password itself (shown once, never
    stored); :class:`InputError` for a bad label or a reader who has
    :data:`MAX_PER_READER` already."""
    label = " ".join(clean_text(label).split())
    if len(label) > MAX_LABEL:
        raise InputError("label", f"an app password's label is at most {MAX_LABEL} characters")
    name = connection.execute(select(readers.c.name).where(readers.c.id == reader_id)).scalar()
    if name is None:
        raise NotFound(f"no reader {reader_id}")
    held = connection.execute(
        select(func.count())
        .select_from(app_passwords)
        .where(app_passwords.c.reader_id == reader_id)
    ).scalar_one()
    if held >= MAX_PER_READER:
        raise InputError(
            "app password",
            f"{name} has {held} app passwords, the most one reader may have: revoke one first",
        )
    password = secrets.token_urlsafe(15)  # 20 characters, 120 random bits, no ':'
    new_id = connection.execute(
        insert(app_passwords)
        .values(
            reader_id=reader_id,
            label=label,
            password_hash=_hasher.hash(password),
            fever_key_hash=_key_digest(fever_key(name, password)),
            created_at=now,
        )
        .returning(app_passwords.c.id)
    ).scalar_one()
    return AppPassword(new_id, label, now, None), password


def all(connection: Connection, reader_id: int) -> list[AppPassword]:
    """The reader's app passwords, oldest first."""
    rows = connection.execute(
        select(app_passwords)
        .where(app_passwords.c.reader_id == reader_id)
        .order_by(app_passwords.c.id)
    )
    return [_row(row) for row in rows]


def revoke(connection: Connection, reader_id: int, password_id: int | str) -> AppPassword:
    """Delete one of the reader's app passwords: the apps using it are signed out.
    :class:`NotFound` for an id that is not one of theirs (another reader's included)."""
    try:
        wanted = int(str(password_id).strip())
    except ValueError:
        wanted = None
    row = None
    if wanted is not None and -(2**63) <= wanted < 2**63:
        row = connection.execute(
            select(app_passwords).where(
                app_passwords.c.id == wanted, app_passwords.c.reader_id == reader_id
            )
        ).first()
    if row is None:
        name = connection.execute(select(readers.c.name).where(readers.c.id == reader_id)).scalar()
        raise NotFound(f"{name} has no app password {password_id!r}")
    connection.execute(delete(app_passwords).where(app_passwords.c.id == row.id))
    return _row(row)


def check(connection: Connection, name: str, password: str, *, now: datetime) -> Reader | None:
    """The reader whose app password ``password`` is (None otherwise, the same work done)."""
    found = _checked(connection, name, password, now=now)
    return None if found is None else found[0]


def _checked(
    connection: Connection, name: str, password: str, *, now: datetime
) -> tuple[Reader, int] | None:
    name = name.strip()
    row = connection.execute(
        select(app_passwords.c.id.label("password_id"), app_passwords.c.password_hash, readers)
        .join(readers, readers.c.id == app_passwords.c.reader_id)
        .where(app_passwords.c.fever_key_hash == _key_digest(fever_key(name, password)))
    ).first()
    try:
        if row is None or row.name != name:
            _hasher.verify(_DUMMY, password)  # spend the same time as a real check
            return None
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    _touch(connection, row.password_id, now)
    return to_reader(row), row.password_id


def sign_in(connection: Connection, name: str, password: str, *, now: datetime) -> str | None:
    """A new app token for ``name`` signing in with an app password (None if it is not
    one of theirs). Only its digest is kept; revoking the password ends the token."""
    found = _checked(connection, name, password, now=now)
    if found is None:
        return None
    reader, password_id = found
    token = f"{reader.id}/{secrets.token_urlsafe(30)}"
    connection.execute(
        insert(app_tokens).values(
            token_hash=digest(token), app_password_id=password_id, reader_id=reader.id,
            created_at=now,
        )
    )  # fmt: skip
    held = (
        select(app_tokens.c.token_hash)
        .where(app_tokens.c.app_password_id == password_id)
        .order_by(app_tokens.c.created_at.desc())
        .offset(MAX_TOKENS_PER_PASSWORD)
    )
    connection.execute(delete(app_tokens).where(app_tokens.c.token_hash.in_(held)))
    return token


def reader_by_token(connection: Connection, token: str, *, now: datetime) -> Reader | None:
    """The reader an app token was given to (None for an unknown or revoked one)."""
    row = connection.execute(
        select(app_tokens.c.app_password_id, readers)
        .join(readers, readers.c.id == app_tokens.c.reader_id)
        .where(app_tokens.c.token_hash == digest(token.strip()))
    ).first()
    if row is None:
        return None
    _touch(connection, row.app_password_id, now)
    return to_reader(row)


def reader_by_fever_key(connection: Connection, api_key: str, *, now: datetime) -> Reader | None:
    """The reader a Fever ``api_key`` (MD5 hex of "name:password", any case) belongs to."""
    row = connection.execute(
        select(app_passwords.c.id.label("password_id"), readers)
        .join(readers, readers.c.id == app_passwords.c.reader_id)
        .where(app_passwords.c.fever_key_hash == _key_digest(api_key))
    ).first()
    if row is None:
        return None
    _touch(connection, row.password_id, now)
    return to_reader(row)


def _touch(connection: Connection, password_id: int, now: datetime) -> None:
    connection.execute(
        update(app_passwords)
        .where(
            app_passwords.c.id == password_id,
            or_(
                app_passwords.c.last_used_at.is_(None),
                app_passwords.c.last_used_at < now - TOUCH_EVERY,
            ),
        )
        .values(last_used_at=now)
    )
