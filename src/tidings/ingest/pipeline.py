"""From a path or URL to parsed articles: read, detect the kind, parse.

These three steps are the door every input comes through, so they raise nothing but
:class:`~tidings.errors.TidingsError`: whatever a hostile or broken input makes a parser or
the file system throw (a JSON document nested 50,000 deep, a name with a NUL, a bug) becomes
a :class:`ParseError` or :class:`FetchError` naming the problem, and the batch, the poller or
the web request carries on with the next input.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tidings.errors import FetchError, ParseError, TidingsError, describe
from tidings.ingest.detect import BULK_KINDS, KINDS, detect_kind
from tidings.ingest.fetch import fetch
from tidings.models import Document, Parsed
from tidings.safety import clean_article, clean_text

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # one feed, page or capture; real ones are far smaller
MAX_BULK_BYTES = 2 * 1024 * 1024 * 1024

# What a folder of news holds beside the news: a project's licence and read-me files (by
# name, whatever their ending: LICENSE, README.md, COPYING.txt…), and files no parser reads
# (pictures, archives, documents, compiled code, databases). A file named on its own is
# always read: only what a folder brings along is passed over.
_NOT_NEWS_NAME = re.compile(  # the whole name: "README.md", not "notice-to-quit.html"
    r"(licen[cs]e|copying|copyright|readme|notice|authors|contributors|contributing"
    r"|changelog|code_of_conduct|makefile|attribution|credits)(\.\w+)*",
    re.IGNORECASE,
)
_NOT_NEWS_SUFFIXES = frozenset(
    {
        ".7z", ".avif", ".bin", ".bmp", ".bz2", ".class", ".db", ".dll", ".doc", ".docx",
        ".dylib", ".exe", ".gif", ".gz", ".ico", ".jar", ".jpeg", ".jpg", ".mp3", ".mp4",
        ".o", ".odt", ".ogg", ".otf", ".pdf", ".png", ".pyc", ".so", ".sqlite", ".sqlite3",
        ".svg", ".tar", ".tgz", ".tif", ".tiff", ".ttf", ".wav", ".webm", ".webp", ".woff",
        ".woff2", ".xls", ".xlsx", ".xz", ".zip", ".zst",
    }
)  # fmt: skip
Skipped = Callable[[str, str], None]  # (file, why it is not read)

log = logging.getLogger(__name__)

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


def expand(inputs: Iterable[str], skipped: Skipped | None = None) -> Iterator[str]:
    """Inputs as given, with each folder replaced by the news files in it (sorted,
    recursive); each file of a folder that is not news (:func:`not_news`) is passed to
    ``skipped`` with the reason instead.

    Never raises: a folder that cannot be listed is yielded as it is, and :func:`read` then
    says what is wrong with it, so one bad input does not end the batch.
    """
    for name in inputs:
        try:
            files = _files_in(name)
        except Exception:  # read() names the problem for this one input
            files = None
        if files is None:
            yield name
            continue
        for file in files:
            why = not_news(file)
            if why is None:
                yield file
            elif skipped is not None:
                skipped(file, why)


def not_news(name: str) -> str | None:
    """Why a file found in a folder is not read as news (a licence, a read-me, a picture…),
    or None if it may be news."""
    path = Path(name)
    if _NOT_NEWS_NAME.fullmatch(path.name):
        return "a project file (licence, read-me or the like), not news"
    if path.suffix.lower() in _NOT_NEWS_SUFFIXES:
        return f"a {path.suffix.lower()} file, which no parser reads"
    return None


def _files_in(name: str) -> list[str] | None:
    """The files under ``name`` if it is a folder, else None."""
    path = Path(name)
    if is_url(name) or not path.is_dir():
        return None
    return [
        str(child)
        for child in sorted(path.rglob("*"))
        if child.is_file() and not child.name.startswith(".")
    ]


def read(name: str) -> Document:
    """The bytes of a file or URL; raises :class:`FetchError` or :class:`ParseError`."""
    try:
        return _read(name)
    except TidingsError:
        raise
    except MemoryError:
        raise ParseError("too large to read into memory") from None
    except Exception as exc:  # a name no file system or URL parser takes
        raise FetchError(f"cannot read it ({_describe(exc)})") from exc


def _read(name: str) -> Document:
    if is_url(name):
        return fetch(name)
    path = Path(name).expanduser()
    try:
        if not path.exists():
            raise FetchError("no such file")
        if path.is_dir():
            _check_listable(path)
            raise FetchError("is a folder")
        size = path.stat().st_size
    except OSError as exc:
        raise FetchError(f"cannot read the file: {exc.strerror or exc}") from exc
    if size > MAX_BULK_BYTES:
        raise ParseError(f"file too large ({_mb(size)}; the limit is {_mb(MAX_BULK_BYTES)})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read the file: {exc.strerror or exc}") from exc
    return Document(name=name, data=data, url=None)


def _check_listable(path: Path) -> None:
    try:
        next(path.iterdir(), None)
    except OSError as exc:
        raise FetchError(f"cannot list the folder: {exc.strerror or exc}") from exc


def parse(doc: Document, kind: str | None = None) -> tuple[str, Parsed]:
    """Detect (unless given) the kind of ``doc`` and parse it.

    Raises only :class:`ParseError`. The articles come back cleaned
    (:func:`tidings.safety.clean_article`): no control characters, NULs or lone surrogates in
    their text, and no link or picture that is not http(s).
    """
    if kind is not None and kind not in KINDS:
        raise ParseError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    try:
        kind = kind or detect_kind(doc)
        if kind not in BULK_KINDS and len(doc.data) > MAX_DOCUMENT_BYTES:
            raise ParseError(
                f"too large for a single {kind} ({_mb(len(doc.data))}; "
                f"the limit is {_mb(MAX_DOCUMENT_BYTES)})"
            )
        module = importlib.import_module(_PARSERS[kind])
        parsed: Parsed = module.parse(doc)
        return kind, _cleaned(parsed)
    except TidingsError as exc:
        message = str(exc)
        if clean_text(message) == message:
            raise
        raise ParseError(clean_text(message)) from exc  # quoted input may hold anything
    except RecursionError:
        raise ParseError("nested too deeply to read") from None
    except MemoryError:
        raise ParseError("too large to read into memory") from None
    except Exception as exc:  # a parser bug must not take a batch down
        log.warning("parsing %s as %s failed", doc.name, kind, exc_info=True)
        raise ParseError(f"could not be read ({_describe(exc)})") from exc


def _cleaned(parsed: Parsed) -> Parsed:
    return Parsed(
        articles=[clean_article(a) for a in parsed.articles],
        warnings=[clean_text(w) for w in parsed.warnings],
        title=(clean_text(parsed.title).strip() or None) if parsed.title else None,
    )


def _describe(exc: BaseException) -> str:
    """``exc`` as ``Type: message``, safe to show (controls and lone surrogates removed)."""
    if isinstance(exc, UnicodeError):
        detail = getattr(exc, "reason", None) or str(exc)
        return clean_text(f"text that cannot be encoded or decoded: {detail}")
    return describe(exc)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
