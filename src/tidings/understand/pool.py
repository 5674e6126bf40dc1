"""Understanding spread over this machine's cores by a pool of processes that persists.

NER holds the GIL and the embedding keeps a core busy, so one process per core is what puts
two cores to work. Each worker loads spaCy and MiniLM once (a second or two) and then takes
a slice of every batch; the pool is shared by every Understander in the process and lives
until the process exits or :func:`close` is called. With one core, or a batch too small to
be worth splitting, the work stays in the calling process.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import pickle
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tidings.understand.embeddings import Embedder, MiniLMEmbedder, available_cores
from tidings.understand.entities import Entity, EntityExtractor, use_numpy_gemm
from tidings.understand.gazetteer import Gazetteer, label_for
from tidings.understand.keypoints import key_points

log = logging.getLogger(__name__)

PROCESSES_ENV = "TIDINGS_UNDERSTAND_PROCESSES"
# Below this many articles a batch is understood in the calling process: starting the pool
# (seconds) is not worth it for a handful of articles, and tests stay fast.
MIN_POOL_BATCH = 16


@dataclass(frozen=True, slots=True)
class Work:
    """What understanding reads of one article (plain data: it crosses processes)."""

    entity_text: str
    source: str | None
    embed_text: str
    title: str
    paragraphs: list[str]
    needs_key_points: bool


@dataclass(frozen=True, slots=True)
class Done:
    entities: list[Entity]
    vector: np.ndarray
    key_points: list[str] | None


@dataclass(frozen=True, slots=True)
class Known:
    """The store's known names: held in the caller, written to a file for the workers."""

    gazetteer: Gazetteer
    path: Path | None  # the pickled names, when a pool reads them


def processes() -> int:
    """How many worker processes: ``TIDINGS_UNDERSTAND_PROCESSES`` (at most one per core),
    else none: understanding runs in the calling process. Off by default: measured side by
    side on 800 Wikinews articles, two processes gave 1.44x the old path and one process
    1.39x, while batches split over processes pad differently and can tip a borderline
    story join the other way; `tidings work` processes (one per core or machine) are the
    way to more cores."""
    wanted = os.environ.get(PROCESSES_ENV, "").strip()
    return max(0, min(int(wanted), available_cores())) if wanted.isdigit() else 0


def understand(
    work: Sequence[Work],
    extractor: EntityExtractor,
    embedder: Embedder,
    known: Gazetteer | None,
    lead_chars: int | None,
    *,
    threads: Executor | None = None,
) -> list[Done]:
    """Entities, vectors and key points of ``work`` with models at hand (one process);
    with ``threads``, the embedding runs there while the entities are found."""
    texts = [w.embed_text for w in work]
    embedding = threads.submit(embedder.embed, texts) if threads is not None else None
    found = extractor.extract(
        [w.entity_text for w in work],
        sources=[w.source for w in work],
        lead_chars=lead_chars,
        known=known,
    )
    vectors = embedding.result() if embedding is not None else embedder.embed(texts)
    return [
        Done(
            entities,
            vector,
            key_points(w.title, w.paragraphs) if w.needs_key_points else None,
        )
        for w, entities, vector in zip(work, found, vectors, strict=True)
    ]


# --- the pool --------------------------------------------------------------------------------

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def shared_pool(articles: int) -> tuple[ProcessPoolExecutor, int] | None:
    """The process-wide pool and its size, started on first use; None when a batch of
    ``articles`` is better understood in the calling process."""
    global _pool, _pool_size
    size = processes()
    if size < 2 or articles < MIN_POOL_BATCH:
        return None
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=size,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
            _pool_size = size
            atexit.register(close)
        return _pool, _pool_size


def close() -> None:
    """Stop the workers (waits for the slices they hold); the next batch starts a new pool."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def understand_in_pool(
    work: Sequence[Work], known: Known | None, lead_chars: int | None
) -> list[Done] | None:
    """``work`` split over the pool's workers, results in order; None when there is no pool
    for it (or it broke: the caller then does the work itself)."""
    found = shared_pool(len(work))
    if found is None:
        return None
    pool, size = found
    slices = _balanced(work, size)
    path = str(known.path) if known and known.path else None
    try:
        futures = [
            pool.submit(_work_slice, [work[i] for i in rows], path, lead_chars) for rows in slices
        ]
        results: list[Done | None] = [None] * len(work)
        for rows, future in zip(slices, futures, strict=True):
            for i, done in zip(rows, future.result(), strict=True):
                results[i] = done
    except BrokenProcessPool as exc:
        log.warning("the understanding pool broke (%s); understanding in this process", exc)
        close()
        return None
    return [r for r in results if r is not None]


def _balanced(work: Sequence[Work], parts: int) -> list[list[int]]:
    """Indices of ``work`` in ``parts`` slices of about equal text: longest first, each to
    the lightest slice so far."""
    slices: list[list[int]] = [[] for _ in range(parts)]
    load = [0] * parts
    cost = [len(w.entity_text) + 4 * len(w.embed_text) for w in work]
    for i in sorted(range(len(work)), key=lambda i: -cost[i]):
        lightest = load.index(min(load))
        slices[lightest].append(i)
        load[lightest] += cost[i]
    return [sorted(rows) for rows in slices if rows]


def write_known(names: Sequence[tuple[str, str]], folder: Path, version: int) -> Path:
    """The names pickled for the workers, in a file named by ``version``."""
    path = folder / f"known-{version}.pickle"
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(pickle.dumps(list(names), protocol=pickle.HIGHEST_PROTOCOL))
    temporary.replace(path)
    return path


# --- inside a worker ---------------------------------------------------------------------

_models: tuple[EntityExtractor, MiniLMEmbedder] | None = None
_known: tuple[str | None, Gazetteer | None] = (None, None)


def _start_worker() -> None:
    """Load the models once per worker, each held to one thread: the pool is the parallelism."""
    global _models
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    extractor = EntityExtractor()
    use_numpy_gemm(extractor)
    _models = (extractor, MiniLMEmbedder(threads=1))


def _work_slice(work: list[Work], known_path: str | None, lead_chars: int | None) -> list[Done]:
    global _known
    if _models is None:
        _start_worker()
    assert _models is not None
    if _known[0] != known_path:
        names: list[tuple[str, str]] = (
            pickle.loads(Path(known_path).read_bytes()) if known_path else []
        )
        _known = (known_path, Gazetteer((n, label_for(k)) for n, k in names) if names else None)
    extractor, embedder = _models
    return understand(work, extractor, embedder, _known[1], lead_chars)
