"""The demo pack's understanding, shipped beside its articles so a new store is ready in seconds.

Understanding the pack (spaCy NER and MiniLM over 8,866 articles) takes minutes on two cores;
a newcomer's first ``tidings serve`` should not wait for it. ``build`` runs the real pipeline
once, when the pack is built, and writes what it found:

- ``understood.jsonl.gz``: a header line (model, dimensions, count), then per article its
  canonical URL and content hash, entities, section, extracted key points and story number;
- ``vectors.i8.gz``: the embeddings in the same order, int8 with one float32 scale per row
  (cosines move by under 0.01, well inside the grouping threshold's margin).

``apply`` matches the pack to stored articles by canonical URL *and* content hash, so an
article that changed since (or a pack built with another model) is simply left pending for
the normal pipeline: the pack can only save work, never store something stale.
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, select

from tidings.demo import UNDERSTOOD_PATH, VECTORS_PATH
from tidings.store import stories as story_store
from tidings.store import understanding as store
from tidings.store.schema import article_embeddings, article_topics, articles, topics

FORMAT = 1
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class PackedArticle:
    url: str  # canonical URL: the article's identity in any store
    content_hash: str
    understood: store.Understood
    story: int  # articles with the same number are one story


def read(
    understood_path: Path = UNDERSTOOD_PATH, vectors_path: Path = VECTORS_PATH
) -> Iterator[PackedArticle]:
    """The packed articles, or nothing when the pack is missing or of another format."""
    if not (understood_path.is_file() and vectors_path.is_file()):
        return
    lines = gzip.decompress(understood_path.read_bytes()).decode("utf-8").splitlines()
    header = json.loads(lines[0])
    if header.get("format") != FORMAT:
        return
    count, dim = int(header["count"]), int(header["dim"])
    raw = gzip.decompress(vectors_path.read_bytes())
    quantized = np.frombuffer(raw, dtype=np.int8, count=count * dim).reshape(count, dim)
    scales = np.frombuffer(raw, dtype="<f4", offset=count * dim, count=count)
    for i, line in enumerate(lines[1 : count + 1]):
        row = json.loads(line)
        yield PackedArticle(
            url=row["url"],
            content_hash=row["hash"],
            understood=store.Understood(
                entities=[(name, kind, int(n)) for name, kind, n in row["entities"]],
                section=(row["section"][0], row["section"][1], float(row["section"][2])),
                vector=quantized[i].astype(np.float32) * scales[i],
                model=header["model"],
                extracted_key_points=row["key_points"],
            ),
            story=int(row["story"]),
        )


def apply(
    engine: Engine,
    packed: Iterator[PackedArticle],
    *,
    model: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Store what the pack says about the articles it matches; returns how many it matched.

    Packed understanding made with another embedding ``model`` than the store's is not used
    (vectors of two models cannot be compared). Stories are started and joined as packed.
    """
    now = datetime.now(UTC)
    with engine.connect() as connection:
        known = {
            r.canonical_url: (r.id, r.content_hash, r.story_id)
            for r in connection.execute(
                select(
                    articles.c.id,
                    articles.c.canonical_url,
                    articles.c.content_hash,
                    articles.c.story_id,
                ).where(articles.c.understood_at.is_(None))
            )
        }
    matched: list[tuple[int, PackedArticle]] = []
    for item in packed:
        if model is not None and item.understood.model != model:
            return 0
        found = known.get(item.url)
        if found and found[1] == item.content_hash and found[2] is None:
            matched.append((found[0], item))
    total = len(matched)
    with engine.begin() as connection:
        for start in range(0, total, 1000):
            chunk = matched[start : start + 1000]
            store.save_many(connection, [(i, p.understood) for i, p in chunk], now=now)
            if progress:
                progress(start + len(chunk), total)
        _group(connection, matched, now)
    return total


def _group(connection: Connection, matched: list[tuple[int, PackedArticle]], now: datetime) -> None:
    """Start one story per packed story number and join its other articles to it."""
    firsts: dict[int, int] = {}  # pack story number -> its first article's id
    for article_id, item in matched:
        firsts.setdefault(item.story, article_id)
    wanted = list(firsts.values())
    titles: dict[int, str] = {}
    for start in range(0, len(wanted), 500):  # stay under bound-parameter limits
        chunk = wanted[start : start + 500]
        rows = connection.execute(
            select(articles.c.id, articles.c.title).where(articles.c.id.in_(chunk))
        )
        titles.update((r.id, r.title) for r in rows)
    numbers = list(firsts)
    ids = story_store.start_many(
        connection, [(firsts[n], titles[firsts[n]]) for n in numbers], now=now
    )
    story_of = dict(zip(numbers, ids, strict=True))
    story_store.join_many(
        connection,
        [(article_id, story_of[item.story]) for article_id, item in matched
         if firsts[item.story] != article_id],
    )  # fmt: skip
    story_store.refresh(connection, ids, now=now)


# -- building the pack (scripts/build_demo.py --understand) ---------------------------------


def export(engine: Engine) -> tuple[bytes, bytes]:
    """Every understood article of a store as the two pack files' bytes (deterministic)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                articles.c.id,
                articles.c.canonical_url,
                articles.c.content_hash,
                articles.c.extracted_key_points,
                articles.c.story_id,
                article_embeddings.c.model,
                article_embeddings.c.vector,
            )
            .join(article_embeddings, article_embeddings.c.article_id == articles.c.id)
            .where(articles.c.understood_at.is_not(None), articles.c.story_id.is_not(None))
            .order_by(articles.c.canonical_url)
        ).all()
        found = _understood_topics(connection)
    if not rows:
        raise ValueError("nothing understood to export")
    vectors = np.stack([store.vector_from_bytes(r.vector) for r in rows]).astype(np.float32)
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantized = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    numbers: dict[int, int] = {}  # store story ids → pack story numbers in order of use
    header = {"format": FORMAT, "model": rows[0].model, "dim": vectors.shape[1], "count": len(rows)}
    lines = [json.dumps(header)]
    for r in rows:
        entities, section = found.get(r.id, ([], ["general", "General", 0.0]))
        lines.append(
            json.dumps(
                {
                    "url": r.canonical_url,
                    "hash": r.content_hash,
                    "entities": entities,
                    "section": section,
                    "key_points": r.extracted_key_points,
                    "story": numbers.setdefault(r.story_id, len(numbers)),
                },
                ensure_ascii=False,
            )
        )
    text = ("\n".join(lines) + "\n").encode("utf-8")
    return _gzip(text), _gzip(quantized.tobytes() + scales.astype("<f4").tobytes())


def _understood_topics(connection: Connection) -> dict[int, tuple[list[Any], list[Any]]]:
    rows = connection.execute(
        select(
            article_topics.c.article_id,
            article_topics.c.topic_id,
            article_topics.c.origin,
            article_topics.c.weight,
            topics.c.name,
            topics.c.kind,
        )
        .join(topics, topics.c.id == article_topics.c.topic_id)
        .where(article_topics.c.origin.in_(store.UNDERSTOOD_ORIGINS))
        .order_by(article_topics.c.article_id, article_topics.c.weight.desc(), topics.c.id)
    )
    found: dict[int, tuple[list[Any], list[Any]]] = {}
    for r in rows:
        entities, section = found.setdefault(r.article_id, ([], ["general", "General", 0.0]))
        if r.origin == "entity":
            entities.append([r.name, r.kind, int(r.weight)])
        else:
            section[:] = [r.topic_id.removeprefix("section:"), r.name, round(r.weight, 4)]
    return found


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buffer.getvalue()


def build(
    understood_path: Path = UNDERSTOOD_PATH,
    vectors_path: Path = VECTORS_PATH,
    *,
    progress: Callable[[str], None] = print,
) -> int:
    """Understand the demo articles in a scratch store with the real pipeline and write the
    pack files; returns the number of articles written."""
    from tidings.demo import demo_documents
    from tidings.library import Tidings

    with (
        tempfile.TemporaryDirectory() as folder,
        Tidings(f"sqlite:///{folder}/demo.db") as tidings,
    ):
        for doc in demo_documents():
            result = tidings.ingest_document(doc, kind="jsonl")
            progress(f"{doc.name}: {result.added} articles")
        report = tidings.understand(
            progress=lambda done, total: (
                progress(f"understood {done}/{total}") if done % 640 == 0 or done == total else None
            )
        )
        progress(f"understood {report.articles} articles in {report.seconds:.0f} s")
        understood, vectors = export(tidings.engine)
    understood_path.write_bytes(understood)
    vectors_path.write_bytes(vectors)
    count = len(gzip.decompress(understood).splitlines()) - 1
    progress(f"{understood_path}: {count} articles; {vectors_path}: {len(vectors):,} bytes")
    return count
