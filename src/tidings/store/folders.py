"""A reader's folders and how their subscriptions are filed: what a Google Reader app calls
labels and a Fever app groups. A subscription is in at most one folder (as in Miniflux), and
may carry a title of the reader's own, shown instead of the feed's."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select, update

from tidings.errors import InputError, NotFound
from tidings.safety import clean_text
from tidings.store.schema import folders, sources, subscriptions
from tidings.store.sources import Source, _to_source

MAX_NAME = 200
MAX_TITLE = 500
MAX_PER_READER = 1000
RESERVED = frozenset({"for you"})  # the ranked stream's label: never a folder's name


@dataclass(frozen=True, slots=True)
class Folder:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Subscription:
    """One source on a reader's list, as their apps show it."""

    source: Source
    own_title: str | None
    folder: Folder | None

    @property
    def title(self) -> str:
        return self.own_title or self.source.title or self.source.url


def clean_name(name: str, *, what: str = "folder") -> str:
    """A folder name as stored: one line, spaces folded; :class:`InputError` naming
    ``what`` when it is empty, too long or the reserved "For you"."""
    cleaned = " ".join(clean_text(name).split())
    if not cleaned:
        raise InputError(what, "a folder needs a name")
    if len(cleaned) > MAX_NAME:
        raise InputError(what, f"a folder name is at most {MAX_NAME} characters")
    if cleaned.casefold() in RESERVED:
        raise InputError(what, f"{cleaned!r} is the ranked stream's name, not a folder's")
    return cleaned


def of_reader(connection: Connection, reader_id: int) -> list[Folder]:
    """The reader's folders, by name."""
    rows = connection.execute(
        select(folders.c.id, folders.c.name)
        .where(folders.c.reader_id == reader_id)
        .order_by(folders.c.name, folders.c.id)
    )
    return [Folder(r.id, r.name) for r in rows]


def find(connection: Connection, reader_id: int, name: str) -> Folder | None:
    """The reader's folder of that name (any case), if there is one."""
    wanted = " ".join(clean_text(name).split()).casefold()
    for folder in of_reader(connection, reader_id):
        if folder.name.casefold() == wanted:
            return folder
    return None


def ensure(connection: Connection, reader_id: int, name: str) -> Folder:
    """The reader's folder of that name, made when there is none."""
    cleaned = clean_name(name)
    found = find(connection, reader_id, cleaned)
    if found is not None:
        return found
    held = connection.execute(
        select(func.count()).select_from(folders).where(folders.c.reader_id == reader_id)
    ).scalar_one()
    if held >= MAX_PER_READER:
        raise InputError("folder", f"a reader has at most {MAX_PER_READER} folders")
    new_id = connection.execute(
        insert(folders).values(reader_id=reader_id, name=cleaned).returning(folders.c.id)
    ).scalar_one()
    return Folder(new_id, cleaned)


def rename(connection: Connection, reader_id: int, old: str, new: str) -> Folder:
    """Rename a folder; into an existing one's name, its subscriptions move there."""
    folder = find(connection, reader_id, old)
    if folder is None:
        raise NotFound(f"no folder {old!r}")
    cleaned = clean_name(new)
    other = find(connection, reader_id, cleaned)
    if other is not None and other.id != folder.id:
        connection.execute(
            update(subscriptions)
            .where(subscriptions.c.folder_id == folder.id)
            .values(folder_id=other.id)
        )
        connection.execute(delete(folders).where(folders.c.id == folder.id))
        return other
    connection.execute(update(folders).where(folders.c.id == folder.id).values(name=cleaned))
    return Folder(folder.id, cleaned)


def remove(connection: Connection, reader_id: int, name: str) -> Folder:
    """Delete a folder: its subscriptions stay, in no folder."""
    folder = find(connection, reader_id, name)
    if folder is None:
        raise NotFound(f"no folder {name!r}")
    connection.execute(
        update(subscriptions).where(subscriptions.c.folder_id == folder.id).values(folder_id=None)
    )
    connection.execute(delete(folders).where(folders.c.id == folder.id))
    return folder


def listed(connection: Connection, reader_id: int) -> list[Subscription]:
    """The reader's subscriptions with their own titles and folders, in the order added."""
    rows = connection.execute(
        select(
            sources,
            subscriptions.c.title.label("own_title"),
            folders.c.id.label("folder_id"),
            folders.c.name.label("folder_name"),
        )
        .join(subscriptions, subscriptions.c.source_id == sources.c.id)
        .outerjoin(folders, folders.c.id == subscriptions.c.folder_id)
        .where(subscriptions.c.reader_id == reader_id)
        .order_by(subscriptions.c.added_at, sources.c.id)
    )
    return [
        Subscription(
            _to_source(r),
            r.own_title,
            Folder(r.folder_id, r.folder_name) if r.folder_id is not None else None,
        )
        for r in rows
    ]


def file(
    connection: Connection,
    reader_id: int,
    source_id: int,
    *,
    folder: Folder | None,
) -> None:
    """Put one of the reader's subscriptions in ``folder`` (None: in none)."""
    connection.execute(
        update(subscriptions)
        .where(subscriptions.c.reader_id == reader_id, subscriptions.c.source_id == source_id)
        .values(folder_id=None if folder is None else folder.id)
    )


def retitle(connection: Connection, reader_id: int, source_id: int, title: str | None) -> None:
    """Give one of the reader's subscriptions a title of their own (None or blank: the
    feed's own again)."""
    cleaned = " ".join(clean_text(title or "").split())[:MAX_TITLE] or None
    connection.execute(
        update(subscriptions)
        .where(subscriptions.c.reader_id == reader_id, subscriptions.c.source_id == source_id)
        .values(title=cleaned)
    )


def source_ids(connection: Connection, folder_id: int) -> list[int]:
    """The sources filed in a folder."""
    rows = connection.execute(
        select(subscriptions.c.source_id).where(subscriptions.c.folder_id == folder_id)
    )
    return [r.source_id for r in rows]
