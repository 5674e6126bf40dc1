"""From a path or URL to parsed articles: read, detect the kind, parse."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from tidings.errors import FetchError, ParseError
from tidings.ingest.detect import BULK_KINDS, KINDS, detect_kind
from tidings.ingest.fetch import fetch
from tidings.models import Document, Parsed

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # one feed, page or capture; real ones are far smaller
MAX_BULK_BYTES = 2 * 1024 * 1024 * 1024

# Parser module per kind, imported on first use so the CLI starts fast.
_PARSERS = {
    "feed": "tidings.ingest.feed",
    "jsonfeed": "tidings.ingest.jsonfeed",
    "page": "tidings.ingest.webpage",
    "capture": "tidings.ingest.capture",
    "jsonl": "tidings.ingest.jsonl",
    "mind": "tidings.ingest.mind",
}


def is_url(name: str) -> bool:
    return name.startswith(("http://", "https://"))


def expand(inputs: Iterable[str]) -> Iterator[str]:
    """Inputs as given, with each folder replaced by the files in it (sorted, recursive)."""
    for name in inputs:
        path = Path(name)
        if not is_url(name) and path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.name.startswith("."):
                    yield str(child)
        else:
            yield name


def read(name: str) -> Document:
    """The bytes of a file or URL; raises :class:`FetchError` or :class:`ParseError`."""
    if is_url(name):
        return fetch(name)
    path = Path(name).expanduser()
    if not path.exists():
        raise FetchError("no such file")
    if path.is_dir():
        raise FetchError("is a folder")
    size = path.stat().st_size
    if size > MAX_BULK_BYTES:
        raise ParseError(f"file too large ({_mb(size)}; the limit is {_mb(MAX_BULK_BYTES)})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read the file: {exc.strerror or exc}") from exc
    return Document(name=name, data=data, url=None)


def parse(doc: Document, kind: str | None = None) -> tuple[str, Parsed]:
    """Detect (unless given) the kind of ``doc`` and parse it."""
    if kind is not None and kind not in KINDS:
        raise ParseError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    kind = kind or detect_kind(doc)
    if kind not in BULK_KINDS and len(doc.data) > MAX_DOCUMENT_BYTES:
        raise ParseError(
            f"too large for a single {kind} ({_mb(len(doc.data))}; "
            f"the limit is {_mb(MAX_DOCUMENT_BYTES)})"
        )
    module = importlib.import_module(_PARSERS[kind])
    return kind, module.parse(doc)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
