"""Reading a MIND folder: ``news.tsv`` into a :class:`NewsTable`, ``behaviors.tsv`` into
:class:`Impression` rows, and ``impression_meta.tsv`` when there (which candidate lists are
complete, which histories are in click order). Malformed rows are stepped over with a warning
naming their line; a missing folder or file is an :class:`~tidings.errors.InputError`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from tidings.errors import FetchError, InputError, ParseError
from tidings.ingest import mind as mind_news
from tidings.ingest.identity import slug
from tidings.ingest.pipeline import read
from tidings.understand.embeddings import article_text

__all__ = [
    "BEHAVIORS",
    "META",
    "NEWS",
    "Impression",
    "MindLog",
    "NewsTable",
    "read_behaviors",
    "read_log",
    "read_news",
]

#: Title entities below this confidence are not used as topic keys.
MIN_ENTITY_CONFIDENCE = 0.5
#: MIND's time format, e.g. ``11/15/2019 10:22:32 AM``.
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
MAX_WARNINGS_PER_FILE = 50

BEHAVIORS = "behaviors.tsv"
NEWS = "news.tsv"
META = "impression_meta.tsv"


@dataclass(slots=True)
class NewsTable:
    """The articles of one or more news files, by row index."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    topics: list[frozenset[str]] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def add(self, news_id: str, text: str, topics: frozenset[str]) -> None:
        if news_id in self.index:
            return  # the same id in a second file: the first one stands
        self.index[news_id] = len(self.ids)
        self.ids.append(news_id)
        self.texts.append(text)
        self.topics.append(topics)


@dataclass(frozen=True, slots=True)
class Impression:
    """One logged impression, with news ids resolved to rows of the :class:`NewsTable`."""

    id: str
    user: str
    time: datetime | None
    history: np.ndarray  # news rows, oldest first
    candidates: np.ndarray  # news rows
    labels: np.ndarray  # 1 clicked, 0 not, per candidate
    full: bool = True  # the complete candidate list (not subsampled)
    clicked_order: bool = True  # the history is in the order it was clicked
    line: int = 0

    @property
    def usable(self) -> bool:
        """Both clicked and unclicked candidates: something to rank."""
        return 0 < int(self.labels.sum()) < len(self.labels)


@dataclass(slots=True)
class MindLog:
    """The impressions of one MIND folder and what was stepped over reading it."""

    folder: Path
    impressions: list[Impression]
    warnings: list[str] = field(default_factory=list)
    rows_skipped: int = 0  # malformed behaviors rows
    dropped_candidates: int = 0  # candidate ids not in news.tsv
    dropped_history: int = 0  # history ids not in news.tsv
    has_meta: bool = False


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(str(path), f"no such {what}")
    if what == "file" and not path.is_file():
        raise InputError(str(path), "is a folder, not a file")
    if what == "folder" and not path.is_dir():
        raise InputError(str(path), "is a file, not a MIND folder")


def _entity_keys(raw: str) -> set[str]:
    """Topic keys from the title-entities column of a raw news row (empty when unreadable)."""
    columns = raw.split("\t")
    if len(columns) < 7 or not columns[6].strip():
        return set()
    try:
        entities = json.loads(columns[6])
    except ValueError:
        return set()
    keys: set[str] = set()
    if isinstance(entities, list):
        for entity in entities:
            if not isinstance(entity, dict) or not isinstance(entity.get("Label"), str):
                continue
            confidence = entity.get("Confidence", 1.0)
            if isinstance(confidence, int | float) and confidence < MIN_ENTITY_CONFIDENCE:
                continue
            keys.add(slug(entity["Label"]))
    return keys


def read_news(path: Path, table: NewsTable, warnings: list[str]) -> None:
    """Add the articles of a MIND ``news.tsv`` to ``table``, through tidings' own MIND parser."""
    _require(path, "file")
    try:
        parsed = mind_news.parse(read(str(path)))
    except (FetchError, ParseError) as exc:
        raise InputError(str(path), str(exc)) from exc
    _extend(warnings, path, parsed.warnings)
    for article in parsed.articles:
        if not article.external_id:
            continue
        keys = {label for label in article.labels if label}
        keys |= _entity_keys(article.raw)
        table.add(
            article.external_id, article_text(article.title, article.paragraphs), frozenset(keys)
        )


def _extend(warnings: list[str], path: Path, found: Sequence[str]) -> None:
    for warning in found[:MAX_WARNINGS_PER_FILE]:
        warnings.append(f"{path}: {warning}")
    if len(found) > MAX_WARNINGS_PER_FILE:
        warnings.append(f"{path}: … and {len(found) - MAX_WARNINGS_PER_FILE} more like these")


def _read_meta(path: Path, warnings: list[str]) -> dict[str, tuple[bool, bool]]:
    """impression id → (full candidate list, history in click order)."""
    meta: dict[str, tuple[bool, bool]] = {}
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"{path}: not read ({exc}); every candidate list is taken as full")
        return meta
    if not lines:
        return meta
    header = lines[0].split("\t")
    if "impression_id" not in header:
        warnings.append(f"{path}: no impression_id column; not used")
        return meta
    position = {name: i for i, name in enumerate(header)}
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) != len(header):
            problems.append(f"line {number}: expected {len(header)} columns, found {len(columns)}")
            continue
        candidate_list = columns[position["candidate_list"]] if "candidate_list" in position else ""
        order = columns[position["history_order"]] if "history_order" in position else ""
        meta[columns[position["impression_id"]]] = (
            not candidate_list.startswith("subsampled"),
            not order or order.startswith("clicked"),
        )
    _extend(warnings, path, problems)
    return meta


def _parse_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT)
    except ValueError:
        return datetime.fromisoformat(value)  # ValueError when neither


def _candidate(token: str) -> tuple[str, int]:
    news_id, dash, label = token.rpartition("-")
    if not dash or not news_id or label not in ("0", "1"):
        raise ValueError(f"bad candidate {token!r} (expected a news id, '-', then 0 or 1)")
    return news_id, int(label)


def read_behaviors(
    path: Path,
    table: NewsTable,
    meta: dict[str, tuple[bool, bool]],
    warnings: list[str],
    *,
    limit: int | None = None,
) -> MindLog:
    """The impressions of a ``behaviors.tsv``; malformed rows are skipped with a warning
    naming their line, ids missing from the news are dropped and counted."""
    _require(path, "file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    problems: list[str] = []
    impressions: list[Impression] = []
    seen: set[str] = set()
    skipped = dropped_candidates = dropped_history = 0
    first_unknown: str | None = None
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        if limit is not None and len(impressions) >= limit:
            break
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8").rstrip("\r")
            columns = line.split("\t")
            if len(columns) != 5:
                raise ValueError(f"expected 5 tab-separated columns, found {len(columns)}")
            impression_id, user, when, history_ids, shown = (c.strip() for c in columns)
            if not impression_id:
                raise ValueError("no impression id in the first column")
            if impression_id in seen:
                raise ValueError(f"impression {impression_id} appears twice; the first is kept")
            pairs = [_candidate(token) for token in shown.split()]
            if not pairs:
                raise ValueError("no candidates")
            try:
                moment = _parse_time(when)
            except ValueError as exc:
                raise ValueError(f"unreadable time {when!r}") from exc
        except UnicodeDecodeError as exc:
            problems.append(f"line {number}: not UTF-8 text (byte {exc.start})")
            skipped += 1
            continue
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            skipped += 1
            continue
        known = [(table.index[n], label) for n, label in pairs if n in table.index]
        if not known:
            problems.append(f"line {number}: none of its candidates is in news.tsv")
            skipped += 1
            continue
        history = [table.index[n] for n in history_ids.split() if n in table.index]
        unknown = len(pairs) - len(known)
        missing_history = len(history_ids.split()) - len(history)
        if (unknown or missing_history) and first_unknown is None:
            first_unknown = f"line {number}"
        dropped_candidates += unknown
        dropped_history += missing_history
        seen.add(impression_id)
        full, clicked_order = meta.get(impression_id, (True, True))
        impressions.append(
            Impression(
                id=impression_id,
                user=user,
                time=moment,
                history=np.array(history, dtype=np.int64),
                candidates=np.array([n for n, _ in known], dtype=np.int64),
                labels=np.array([label for _, label in known], dtype=np.int8),
                full=full,
                clicked_order=clicked_order,
                line=number,
            )
        )
    _extend(warnings, path, problems)
    if dropped_candidates or dropped_history:
        warnings.append(
            f"{path}: dropped {dropped_candidates} candidate and {dropped_history} history ids "
            f"not in news.tsv (first on {first_unknown})"
        )
    return MindLog(
        folder=path.parent,
        impressions=impressions,
        rows_skipped=skipped,
        dropped_candidates=dropped_candidates,
        dropped_history=dropped_history,
        has_meta=bool(meta),
    )


def read_log(
    folder: Path, table: NewsTable | None = None, *, limit: int | None = None
) -> tuple[MindLog, NewsTable]:
    """Read a MIND folder: its news into ``table`` (a new one by default), then its
    impressions. Raises :class:`InputError` when the folder or a required file is missing."""
    folder = Path(folder)
    _require(folder, "folder")
    table = table if table is not None else NewsTable()
    warnings: list[str] = []
    read_news(folder / NEWS, table, warnings)
    meta_path = folder / META
    meta = _read_meta(meta_path, warnings) if meta_path.is_file() else {}
    mind_log = read_behaviors(folder / BEHAVIORS, table, meta, warnings, limit=limit)
    mind_log.warnings = warnings
    return mind_log, table
