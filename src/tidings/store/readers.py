"""Readers: the people a feed is ranked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from tidings.errors import Conflict, InputError, NotFound
from tidings.safety import clean_text
from tidings.store.schema import readers

MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Reader:
    id: int
    name: str
    created: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created": self.created.isoformat()}


def to_reader(row: Any) -> Reader:
    return Reader(row.id, row.name, row.created_at)


def add(connection: Connection, name: str, *, now: datetime) -> Reader:
    """A new reader; raises :class:`InputError` naming ``name`` for a blank or too long name,
    or one holding control characters (which XML cannot carry and PostgreSQL refuses, NUL),
    and :class:`Conflict` for a taken one."""
    name = name.strip()
    if not name:
        raise InputError("name", "a reader needs a name")
    if len(name) > MAX_NAME:
        raise InputError("name", f"a reader's name may be at most {MAX_NAME} characters")
    if clean_text(name) != name:
        raise InputError("name", "a reader's name may not hold control characters")
    taken = Conflict("name", f"a reader named {name!r} already exists")
    if connection.execute(select(readers.c.id).where(readers.c.name == name)).first():
        raise taken
    try:  # a concurrent sign-up may have taken it since (the caller's transaction rolls back)
        new_id = connection.execute(
            insert(readers).values(name=name, created_at=now).returning(readers.c.id)
        ).scalar_one()
    except IntegrityError as exc:
        raise taken from exc
    return Reader(new_id, name, now)


def get(connection: Connection, name_or_id: str | int) -> Reader:
    """A reader by name (or numeric id); :class:`NotFound` names what was asked for."""
    query = select(readers)
    if isinstance(name_or_id, int):
        row = connection.execute(query.where(readers.c.id == name_or_id)).first()
    else:
        row = connection.execute(query.where(readers.c.name == name_or_id.strip())).first()
    if row is None:
        raise NotFound(f"no reader named {name_or_id!r}")
    return to_reader(row)


def all_readers(connection: Connection, *, limit: int = 1000, offset: int = 0) -> list[Reader]:
    rows = connection.execute(select(readers).order_by(readers.c.id).limit(limit).offset(offset))
    return [to_reader(r) for r in rows]


def count(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(readers)).scalar_one()


def remove(connection: Connection, name_or_id: str | int) -> Reader:
    """Delete a reader and (by cascade) every event of theirs."""
    reader = get(connection, name_or_id)
    connection.execute(delete(readers).where(readers.c.id == reader.id))
    return reader
