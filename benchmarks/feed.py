"""Feed latency, training time and peak RSS at scale, on SQLite.

Run on demand (not a test):

    python benchmarks/feed.py                     # 100k articles, 10k readers, 1M events
    python benchmarks/feed.py --articles 5000 --readers 200 --events 20000 --calls 50
    python benchmarks/feed.py --commit HEAD       # measure a commit's src/, not the tree

The store is bulk-loaded (no understanding: it runs ~25 articles/s) into
benchmarks/results/feed-bench.db — Wikinews and MIND titles and text, ~20 sources, stories of
1-6 articles, a section, labels and Zipf-drawn entities per article, 384-d embeddings
clustered per story, and an event log of impressions, opens, dwells, saves, hides, follows
and mutes over the last 14 days. It is reused while it has the asked-for counts (events and
scorers the benchmark itself added are deleted first) unless --rebuild.

Each phase runs in a fresh subprocess so its peak RSS is its own: build; feed (prior
scorer: a cold first call, the pool build and a followed-topic lookup on their own, a reader
with many follows, the heaviest reader, --calls calls with record=False and --calls with
record=True, a cProfile of warm calls); train-logistic; train-lightgbm; feed-trained (the
lightgbm scorer, record=False). With --commit every phase imports that commit's src/ (a
git-archive snapshot under benchmarks/results), so work in the tree cannot change the code
mid-run. Prints a summary and writes benchmarks/results/feed.json (and feed-profile.txt).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import measure  # benchmarks/measure.py, beside this script
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DIM = 384
DAY = 86400.0
ARTICLE_DAYS = 30  # articles are published over the last month, up to now
EVENT_DAYS = 14  # events happen over the last fortnight
BATCH = 5000  # rows per insert (one transaction each)
PHASES = ("build", "feed", "train-logistic", "train-lightgbm", "feed-trained")
SOURCES = (  # twenty outlets, the biggest first
    "Reuters",
    "Associated Press",
    "BBC News",
    "The Guardian",
    "The New York Times",
    "Al Jazeera",
    "NPR",
    "CNN",
    "Deutsche Welle",
    "France 24",
    "The Washington Post",
    "Bloomberg",
    "Financial Times",
    "The Independent",
    "ABC News",
    "CBC News",
    "The Times of India",
    "South China Morning Post",
    "Euronews",
    "The Hindu",
)
STORY_SIZES = np.array([1, 2, 3, 4, 5, 6])
STORY_SIZE_P = np.array([0.5, 0.22, 0.12, 0.08, 0.05, 0.03])  # mean 2.05 articles a story
# Share of all events by kind; follows and mutes come first (a few per reader) and the
# rest are scaled to fill the count.
SHARES = {
    "impression": 0.75,
    "open": 0.15,
    "dwell": 0.05,
    "save": 0.015,
    "hide": 0.01,
    "fewer_like": 0.005,
}
GROUP = (20, 30)  # stories per logged feed request


# -- helpers ------------------------------------------------------------------------------


def _rss_mb() -> dict[str, float]:
    """Current and peak resident set size of this process, in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return {
        "now": round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1),
        "peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


_load = measure.load
_uptime = measure.uptime


_stats = measure.stats


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


def _db_files(db: Path) -> list[Path]:
    return [p for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))]


def _size_mb(db: Path) -> float:
    return round(sum(p.stat().st_size for p in _db_files(db) if p.exists()) / 2**20, 1)


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC)


# -- the corpus ---------------------------------------------------------------------------


def _texts(shared: Path) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of every Wikinews article and MIND news item."""
    out: list[tuple[str, list[str]]] = []
    for path in sorted((shared / "data" / "wikinews").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            paragraphs = [p.strip() for p in item.get("text", "").split("\n") if p.strip()]
            if item.get("title") and paragraphs:
                out.append((item["title"].strip(), paragraphs[:30]))
    for line in (shared / "data" / "mind" / "news.tsv").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) > 4 and parts[3].strip():
            out.append((parts[3].strip(), [parts[4].strip() or parts[3].strip()]))
    return out


def _vocabulary(shared: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Entities (slug, name, kind) and labels (slug, name), most used first, from MIND."""
    from tidings.ingest.identity import slug

    kinds = {"P": "person", "G": "place", "O": "organisation"}
    entities: Counter[str] = Counter()
    kind_of: dict[str, str] = {}
    labels: Counter[str] = Counter()
    for line in (shared / "data" / "mind" / "news.tsv").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) > 2:
            labels[parts[2]] += 1
        for column in (6, 7):
            if len(parts) > column and parts[column].strip():
                for e in json.loads(parts[column]):
                    entities[e["Label"]] += 1
                    kind_of[e["Label"]] = kinds.get(e.get("Type", ""), "organisation")
    seen: set[str] = set()
    vocab: list[tuple[str, str, str]] = []
    for name, _ in entities.most_common():
        key = slug(name)
        if key not in seen:
            seen.add(key)
            vocab.append((key, name, kind_of[name]))
    label_vocab = [("politics-and-conflicts", "Politics and conflicts")]
    label_vocab += [("economy-and-business", "Economy and business")]
    label_vocab += [(slug(n), n) for n, _ in labels.most_common() if slug(n) not in seen]
    return vocab, list(dict(label_vocab).items())


def _zipf(n: int, exponent: float = 1.05, offset: float = 10.0) -> np.ndarray:
    p = 1.0 / (np.arange(n) + offset) ** exponent
    return p / p.sum()


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


# -- the build ----------------------------------------------------------------------------


def _meta_path(db: Path) -> Path:
    return db.with_name(db.name + ".json")


def _wanted(args: argparse.Namespace) -> dict[str, int]:
    return {
        "articles": args.articles,
        "readers": args.readers,
        "events": args.events,
        "seed": args.seed,
    }


def _reusable(args: argparse.Namespace, url: str) -> dict[str, Any] | None:
    """The build's metadata if the store at ``args.db`` is the one asked for, else None."""
    meta_path = _meta_path(args.db)
    if args.rebuild or not args.db.exists() or not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("wanted") != _wanted(args):
        return None
    from sqlalchemy import delete, func, select

    from tidings.library import Tidings
    from tidings.store.schema import articles, events, readers, scorers

    with Tidings(url) as tidings, tidings.engine.begin() as connection:
        have = {
            "articles": connection.execute(select(func.count()).select_from(articles)).scalar(),
            "readers": connection.execute(select(func.count()).select_from(readers)).scalar(),
            "max_event_id": connection.execute(select(func.max(events.c.id))).scalar() or 0,
        }
        if (
            have["articles"] != meta["counts"]["articles"]
            or have["readers"] != meta["counts"]["readers"]
            or have["max_event_id"] < meta["counts"]["max_event_id"]
        ):
            return None
        # Back to the store as built: drop what earlier runs logged and trained.
        extra = connection.execute(
            delete(events).where(events.c.id > meta["counts"]["max_event_id"])
        ).rowcount
        connection.execute(delete(scorers))
    meta["reset_events_deleted"] = extra
    return meta


def build(args: argparse.Namespace, url: str) -> dict[str, Any]:
    meta = _reusable(args, url)
    if meta is not None:
        age_h = (time.time() - meta["built_at"]) / 3600
        print(f"reusing {args.db} (built {age_h:.1f} h ago; --rebuild for a fresh one)")
        if age_h > 6:
            print(
                "[warning] the data is over 6 h old: fewer events fall in the 2-day popularity "
                "window than in a fresh store"
            )
        return {**meta, "reused": True, "data_age_hours": round(age_h, 2), "rss_mb": _rss_mb()}
    for path in [*_db_files(args.db), _meta_path(args.db)]:
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    builder = _Builder(args, url)
    counts, seconds = builder.run()
    meta = {
        "wanted": _wanted(args),
        "built_at": builder.now,
        "counts": counts,
        "build_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "build_total_seconds": round(time.perf_counter() - started, 1),
        "store_mb": _size_mb(args.db),
    }
    _meta_path(args.db).write_text(json.dumps(meta, indent=2))
    return {**meta, "reused": False, "data_age_hours": 0.0, "rss_mb": _rss_mb()}


class _Builder:
    """Generates and bulk-loads the synthetic store (seeded: the same args give the same
    rows, up to the clock)."""

    def __init__(self, args: argparse.Namespace, url: str) -> None:
        self.args = args
        self.url = url
        self.rng = np.random.default_rng(args.seed)
        self.now = time.time()
        self.seconds: dict[str, float] = {}

    def run(self) -> tuple[dict[str, int], dict[str, float]]:
        from tidings.library import Tidings

        started = time.perf_counter()
        texts = _texts(self.args.shared)
        self.entities, self.labels = _vocabulary(self.args.shared)
        self.seconds["read corpus"] = time.perf_counter() - started
        print(
            f"corpus: {len(texts):,} texts, {len(self.entities):,} entities, "
            f"{len(self.labels):,} labels"
        )
        with Tidings(self.url) as tidings, _progress() as progress:
            self.engine = tidings.engine
            self.progress = progress
            self._plan(texts)
            self._topics()
            self._stories()
            self._articles()
            self._readers()
            self._events()
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return self.counts, self.seconds

    def _insert(self, table: Any, rows_of: Any, total: int, label: str) -> None:
        """Insert ``rows_of(start, stop)`` for every batch of ``total``, a transaction each."""
        from sqlalchemy import insert

        started = time.perf_counter()
        task = self.progress.add_task(label, total=total)
        statement = insert(table)
        for start in range(0, total, BATCH):
            stop = min(total, start + BATCH)
            rows = rows_of(start, stop)
            with self.engine.begin() as connection:
                connection.execute(statement, rows)
            self.progress.update(task, advance=stop - start)
        self.seconds[label] = time.perf_counter() - started

    # stories, articles and their topics ------------------------------------------------

    def _plan(self, texts: list[tuple[str, list[str]]]) -> None:
        rng, n = self.rng, self.args.articles
        sizes = rng.choice(STORY_SIZES, size=n, p=STORY_SIZE_P)
        ends = np.cumsum(sizes)
        stories = int(np.searchsorted(ends, n)) + 1
        sizes = sizes[:stories]
        sizes[-1] -= int(ends[stories - 1] - n)
        self.story_sizes = sizes
        # Stories start over the last month (newest last: ids follow time); their other
        # articles follow within hours, never after now.
        start = np.sort(self.now - rng.uniform(0, ARTICLE_DAYS * DAY, stories))
        story_of = np.repeat(np.arange(stories), sizes)
        first = np.r_[0, np.cumsum(sizes)[:-1]]
        delay = rng.exponential(6 * 3600, n)
        delay[first] = 0.0
        when = np.minimum(start[story_of] + delay, self.now - rng.uniform(0, 60, n))
        when[first] = np.minimum(start, self.now - 60)
        # Articles get ids in the order they were published (as an ingest would).
        order = np.argsort(when, kind="stable")
        self.article_story = story_of[order]
        self.article_when = when[order]
        self.article_text = np.empty(n, dtype=np.int64)
        self.article_cycle = np.empty(n, dtype=np.int64)
        self.story_articles: list[list[int]] = [[] for _ in range(stories)]
        for index, story in enumerate(self.article_story):
            self.story_articles[story].append(index)
        # Sources: each article of a story from a different outlet, big outlets more often.
        source_p = _zipf(len(SOURCES), 0.8, 2.0)
        self.article_source = np.empty(n, dtype=np.int64)
        for story, members in enumerate(self.story_articles):
            picked = rng.choice(len(SOURCES), size=len(members), replace=False, p=source_p)
            self.article_source[members] = picked
            text = story % len(texts)
            self.article_text[members] = text
            self.article_cycle[members] = story // len(texts)
        self.texts = texts
        # Topics: a section and a label per story; eight entities per story, drawn Zipf-like,
        # of which each article names its first two and some of the rest.
        from tidings.understand.sections import SECTIONS

        self.sections = list(SECTIONS)
        self.entity_p = _zipf(len(self.entities))
        self.story_section = rng.integers(0, len(self.sections), stories)
        self.story_label = rng.choice(len(self.labels), size=stories, p=_zipf(len(self.labels)))
        draws = rng.choice(len(self.entities), size=(stories, 24), p=self.entity_p)
        self.story_entities = [list(dict.fromkeys(row.tolist()))[:8] for row in draws]
        self.story_entity_label = rng.random(stories) < 0.5  # also labelled by its entity
        self.story_quality = rng.lognormal(0, 0.5, stories)
        # Embeddings: a story's centre mixes its main entities, its section and chance;
        # its articles scatter around it (cosine ~0.85 to the centre).
        entity_vectors = _unit(rng.standard_normal((len(self.entities), DIM)))
        section_vectors = _unit(rng.standard_normal((len(self.sections), DIM)))
        main = np.stack([entity_vectors[e[:3]].sum(axis=0) for e in self.story_entities]).astype(
            np.float32
        )
        self.story_centre = _unit(
            0.6 * _unit(main)
            + 0.3 * section_vectors[self.story_section]
            + 0.5 * _unit(rng.standard_normal((stories, DIM)))
        ).astype(np.float32)
        self.counts = {"articles": n, "stories": stories}

    def _topics(self) -> None:
        from tidings.store.schema import topics

        rows = [
            {"id": f"section:{s}", "name": name, "kind": "section"} for s, name in self.sections
        ]
        rows += [{"id": f"label:{s}", "name": name, "kind": "label"} for s, name in self.labels]
        used = sorted({e for entities in self.story_entities for e in entities})
        rows += [
            {"id": f"entity:{key}", "name": name, "kind": kind}
            for key, name, kind in (self.entities[e] for e in used)
        ]
        labelled = sorted(
            {self.story_entities[s][0] for s in np.flatnonzero(self.story_entity_label)}
        )
        known = {f"label:{s}" for s, _ in self.labels}
        rows += [
            {"id": f"label:{self.entities[e][0]}", "name": self.entities[e][1], "kind": "label"}
            for e in labelled
            if f"label:{self.entities[e][0]}" not in known
        ]
        self._insert(topics, lambda a, b: rows[a:b], len(rows), "topics")
        self.counts["topics"] = len(rows)

    def _stories(self) -> None:
        from tidings.store.schema import stories

        def rows(start: int, stop: int) -> list[dict[str, Any]]:
            out = []
            for story in range(start, stop):
                members = self.story_articles[story]
                lead = members[0]
                first, last = self.article_when[members[0]], self.article_when[members[-1]]
                out.append(
                    {
                        "id": story + 1,
                        "headline": self._title(lead),
                        "lead_article_id": lead + 1,
                        "article_count": len(members),
                        "outlet_count": len(set(self.article_source[members].tolist())),
                        "first_published": _when(first),
                        "last_published": _when(last),
                        "created_at": _when(first + 60),
                        "updated_at": _when(last + 60),
                    }
                )
            return out

        self._insert(stories, rows, len(self.story_articles), "stories")

    def _title(self, article: int) -> str:
        title = self.texts[self.article_text[article]][0]
        cycle = int(self.article_cycle[article])
        story = self.article_story[article]
        if article != self.story_articles[story][0]:
            title = f"{title} | {SOURCES[self.article_source[article]]}"
        return f"{title} ({cycle + 1})" if cycle else title

    def _articles(self) -> None:
        from tidings.store.schema import article_embeddings, article_topics, articles

        n = self.args.articles

        def article_rows(start: int, stop: int) -> list[dict[str, Any]]:
            out = []
            for i in range(start, stop):
                source = SOURCES[self.article_source[i]]
                host = source.lower().replace(" ", "") + ".example"
                published = float(self.article_when[i])
                fetched = _when(published + 120)
                title = self._title(i)
                out.append(
                    {
                        "id": i + 1,
                        "canonical_url": f"https://{host}/bench/{i + 1}",
                        "url": f"https://{host}/bench/{i + 1}",
                        "external_id": None,
                        "content_hash": hashlib.sha256(f"{i}:{title}".encode()).hexdigest(),
                        "kind": "jsonl",
                        "title": title,
                        "key_points": [],
                        "paragraphs": self.texts[self.article_text[i]][1],
                        "byline": None,
                        "published_at": _when(published),
                        "fetched_at": fetched,
                        "updated_at": fetched,
                        "language": "en",
                        "source_name": source,
                        "source_id": None,
                        "media": [],
                        "raw": "",
                        "understood_at": _when(published + 180),
                        "story_id": int(self.article_story[i]) + 1,
                    }
                )
            return out

        def topic_rows(start: int, stop: int) -> list[dict[str, Any]]:
            rng = self.rng
            out = []
            for i in range(start, stop):
                story = self.article_story[i]
                section = self.sections[self.story_section[story]][0]
                out.append(
                    {
                        "article_id": i + 1,
                        "topic_id": f"section:{section}",
                        "origin": "section",
                        "weight": round(float(rng.uniform(0.4, 1.0)), 3),
                    }
                )
                labels = [f"label:{self.labels[self.story_label[story]][0]}"]
                entities = self.story_entities[story]
                if self.story_entity_label[story]:
                    labels.append(f"label:{self.entities[entities[0]][0]}")
                for label in dict.fromkeys(labels):
                    out.append(
                        {"article_id": i + 1, "topic_id": label, "origin": "source", "weight": 1.0}
                    )
                m = int(rng.integers(3, 9))
                rest = entities[2:]
                picked = entities[:2] + [
                    rest[j] for j in sorted(rng.permutation(len(rest))[: max(0, m - 2)])
                ]
                for rank, e in enumerate(picked):
                    out.append(
                        {
                            "article_id": i + 1,
                            "topic_id": f"entity:{self.entities[e][0]}",
                            "origin": "entity",
                            "weight": float(max(1, 6 - rank + int(rng.integers(0, 3)))),
                        }
                    )
            self.counts["article_topics"] = self.counts.get("article_topics", 0) + len(out)
            return out

        def embedding_rows(start: int, stop: int) -> list[dict[str, Any]]:
            centres = self.story_centre[self.article_story[start:stop]]
            noise = self.rng.standard_normal(centres.shape).astype(np.float32)
            vectors = _unit(centres + noise * (0.6 / np.sqrt(DIM))).astype("<f4")
            return [
                {"article_id": i + 1, "model": "bench", "vector": vectors[i - start].tobytes()}
                for i in range(start, stop)
            ]

        self._insert(articles, article_rows, n, "articles")
        self._insert(article_topics, topic_rows, n, "article topics")
        self._insert(article_embeddings, embedding_rows, n, "article embeddings")

    # readers and events ------------------------------------------------------------------

    def _readers(self) -> None:
        from tidings.store.schema import readers

        rng, r = self.rng, self.args.readers
        created = self.now - EVENT_DAYS * DAY - rng.uniform(0, 30 * DAY, r)
        self.reader_activity = rng.lognormal(0, 1.0, r)
        self.reader_interests = [
            list(dict.fromkeys(rng.choice(len(self.entities), size=6, p=self.entity_p).tolist()))[
                : int(rng.integers(2, 7))
            ]
            for _ in range(r)
        ]
        self.reader_section = rng.integers(0, len(self.sections), r)

        def rows(start: int, stop: int) -> list[dict[str, Any]]:
            return [
                {"id": i + 1, "name": f"reader-{i + 1:05d}", "created_at": _when(created[i])}
                for i in range(start, stop)
            ]

        self._insert(readers, rows, r, "readers")
        self.counts["readers"] = r

    def _events(self) -> None:
        started = time.perf_counter()
        log = _EventLog()
        self._choices(log)
        self._feed_requests(log)
        self.seconds["generate events"] = time.perf_counter() - started
        columns = log.finish(self.args.events, self.rng)
        self._insert_events(columns)

    def _choices(self, log: _EventLog) -> None:
        """Follows (a few a reader, mostly of their interests) and mutes, early on."""
        rng, start = self.rng, self.now - EVENT_DAYS * DAY
        for reader, interests in enumerate(self.reader_interests):
            when = start + rng.uniform(0, 2 * DAY)
            follows = [self.entities[e][0] for e in interests[: int(rng.integers(0, 5))]]
            if rng.random() < 0.15:
                follows.append(self.labels[int(rng.integers(0, min(20, len(self.labels))))][0])
            if rng.random() < 0.05:
                follows.append(f"source:{SOURCES[int(rng.integers(0, len(SOURCES)))]}")
            for n, target in enumerate(follows):
                log.add(reader, "follow", when + n, target=target)
            if rng.random() < 0.3:
                muted = int(rng.choice(len(self.entities), p=self.entity_p))
                if muted not in interests:
                    log.add(reader, "mute", when + len(follows) + 1, target=self.entities[muted][0])

    def _feed_requests(self, log: _EventLog) -> None:
        """Feed requests of 20-30 impressions, opens (mostly of what was shown), dwells,
        saves, hides and "fewer like this"; interests and rank steer what is opened."""
        rng, args = self.rng, self.args
        n_requests = max(1, round(args.events * SHARES["impression"] / np.mean(GROUP)))
        story_start = np.array([self.article_when[m[0]] for m in self.story_articles])
        leads = np.array([m[0] for m in self.story_articles]) + 1
        by_entity: dict[int, list[int]] = {}
        for story, entities in enumerate(self.story_entities):
            for e in entities[:2]:
                by_entity.setdefault(e, []).append(story)
        entity_stories = {e: np.array(s) for e, s in by_entity.items()}
        p_reader = self.reader_activity / self.reader_activity.sum()
        request_readers = rng.choice(len(p_reader), size=n_requests, p=p_reader)
        request_times = self.now - rng.uniform(300, EVENT_DAYS * DAY, n_requests)
        shown: list[tuple[int, int, int, int, float, bool, bool]] = []
        task = self.progress.add_task("plan feed requests", total=n_requests)
        for n in range(n_requests):
            reader = int(request_readers[n])
            t = float(request_times[n])
            lo, hi = np.searchsorted(story_start, [t - 2 * DAY, t])
            if hi - lo < GROUP[1]:
                lo = max(0, hi - 3 * GROUP[1])
            k = min(int(rng.integers(GROUP[0], GROUP[1] + 1)), hi - lo)
            if k < 2:
                continue
            liked = [
                s[(s >= lo) & (s < hi)]
                for e in self.reader_interests[reader]
                if (s := entity_stories.get(e)) is not None
            ]
            liked_stories = np.unique(np.concatenate(liked)) if liked else np.zeros(0, int)
            take = liked_stories[rng.permutation(len(liked_stories))[: int(k * 0.4)]]
            rest = rng.integers(lo, hi, size=3 * k)
            chosen = list(dict.fromkeys([*take.tolist(), *rest.tolist()]))[:k]
            interest = np.isin(chosen, liked_stories)
            section = self.story_section[chosen] == self.reader_section[reader]
            fresh = np.exp(-(t - story_start[chosen]) / DAY)
            order = np.argsort(-(interest + 0.5 * fresh + rng.normal(0, 0.5, len(chosen))))
            log.requests.append(rng.bytes(16).hex())
            request = len(log.requests) - 1
            for rank, j in enumerate(order, 1):
                story = chosen[j]
                shown.append((reader, story, request, rank, t, bool(interest[j]), bool(section[j])))
            self.progress.update(task, advance=1)
        # Who opened what: likelier for an interest, a favourite section, a good story, a
        # high rank; scaled so that ~85% of opens come from impressions.
        rows = np.array([(r, s, q, k) for r, s, q, k, _, _, _ in shown], dtype=np.int64)
        times = np.array([x[4] for x in shown])
        interest = np.array([x[5] for x in shown])
        section = np.array([x[6] for x in shown])
        weight = (
            (1 + 3.0 * interest)
            * (1 + 0.8 * section)
            * self.story_quality[rows[:, 1]]
            * (1.3 - 0.6 * rows[:, 3] / GROUP[1])
        )
        target_opens = SHARES["open"] * args.events * 0.85
        p_open = np.clip(weight * target_opens / weight.sum(), 0, 0.95)
        opened = rng.random(len(rows)) < p_open
        for (reader, story, request, rank), t in zip(rows.tolist(), times.tolist(), strict=True):
            log.add(
                reader,
                "impression",
                t,
                article=int(leads[story]),
                story=story + 1,
                value=float(rank),
                request=request,
            )
        open_times = np.minimum(times + rng.exponential(300, len(rows)) + 1, self.now - 1)
        opens: list[tuple[int, int, int, float]] = []
        for i in np.flatnonzero(opened).tolist():
            reader, story = int(rows[i, 0]), int(rows[i, 1])
            members = self.story_articles[story]
            article = members[0] if rng.random() < 0.8 else int(rng.choice(members))
            opens.append((reader, story, article + 1, float(open_times[i])))
        # The other opens: stories found elsewhere (search, a link), at any time.
        extra = max(0, round(SHARES["open"] * args.events) - len(opens))
        extra_readers = rng.choice(len(p_reader), size=extra, p=p_reader).tolist()
        extra_times = (self.now - rng.uniform(60, EVENT_DAYS * DAY, extra)).tolist()
        for reader, t in zip(extra_readers, extra_times, strict=True):
            hi = int(np.searchsorted(story_start, t))
            if hi == 0:
                continue
            story = int(rng.integers(max(0, hi - 5000), hi))
            opens.append((reader, story, self.story_articles[story][0] + 1, t))
        for reader, story, article, t in opens:
            log.add(reader, "open", t, article=article, story=story + 1)
        picks = rng.permutation(len(opens))
        n_dwell = round(SHARES["dwell"] * args.events)
        n_save = round(SHARES["save"] * args.events)
        for i in picks[:n_dwell].tolist():
            reader, story, article, t = opens[i]
            seconds = float(np.clip(rng.lognormal(3.8, 1.0), 2, 1800))
            log.add(
                reader,
                "dwell",
                min(t + seconds, self.now - 1),
                article=article,
                story=story + 1,
                value=round(seconds, 1),
            )
        for i in rng.permutation(len(opens))[:n_save].tolist():
            reader, story, article, t = opens[i]
            log.add(reader, "save", min(t + 30, self.now - 1), article=article, story=story + 1)
        missed = np.flatnonzero(~opened)
        n_hide = round(SHARES["hide"] * args.events)
        n_fewer = round(SHARES["fewer_like"] * args.events)
        picked = rng.permutation(missed)[: n_hide + n_fewer].tolist()
        for n, i in enumerate(picked):
            reader, story = int(rows[i, 0]), int(rows[i, 1])
            kind = "hide" if n < n_hide else "fewer_like"
            t = min(float(times[i]) + 20, self.now - 1)
            log.add(reader, kind, t, article=int(leads[story]), story=story + 1)

    def _insert_events(self, columns: dict[str, Any]) -> None:
        from tidings.store.schema import events

        kinds, requests = columns["kind_names"], columns["requests"]

        def rows(start: int, stop: int) -> list[dict[str, Any]]:
            out = []
            for i in range(start, stop):
                article = int(columns["article"][i])
                story = int(columns["story"][i])
                request = int(columns["request"][i])
                value = float(columns["value"][i])
                out.append(
                    {
                        "id": i + 1,
                        "reader_id": int(columns["reader"][i]) + 1,
                        "kind": kinds[columns["kind"][i]],
                        "article_id": article or None,
                        "story_id": story or None,
                        "target": columns["target"][i],
                        "value": None if np.isnan(value) else value,
                        "request": requests[request] if request >= 0 else None,
                        "created_at": _when(columns["time"][i]),
                    }
                )
            return out

        total = len(columns["time"])
        self._insert(events, rows, total, "events")
        self.counts["events"] = total
        self.counts["max_event_id"] = total
        self.counts["events_by_kind"] = dict(
            sorted(Counter(kinds[k] for k in columns["kind"].tolist()).items())
        )
        self.counts["feed_requests"] = len(set(columns["request"].tolist()) - {-1})


class _EventLog:
    """Events as columns while they are generated, sorted by time at the end."""

    KINDS = ("impression", "open", "dwell", "save", "hide", "fewer_like", "follow", "mute")

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, float, int, int, str | None, float, int]] = []
        self.requests: list[str] = []

    def add(
        self,
        reader: int,
        kind: str,
        when: float,
        *,
        article: int = 0,
        story: int = 0,
        target: str | None = None,
        value: float = float("nan"),
        request: int = -1,
    ) -> None:
        self.rows.append(
            (reader, self.KINDS.index(kind), when, article, story, target, value, request)
        )

    def finish(self, total: int, rng: np.random.Generator) -> dict[str, Any]:
        """Exactly ``total`` events, oldest first: surplus dwells/opens are dropped at random
        (never impressions, follows or mutes); a shortfall is left as it is."""
        rows = self.rows
        surplus = len(rows) - total
        if surplus > 0:
            droppable = [
                i for i, r in enumerate(rows) if self.KINDS[r[1]] in ("dwell", "open", "save")
            ]
            drop = set(rng.choice(droppable, size=min(surplus, len(droppable)), replace=False))
            rows = [r for i, r in enumerate(rows) if i not in drop]
        times = np.array([r[2] for r in rows])
        order = np.argsort(times, kind="stable")
        return {
            "reader": np.array([rows[i][0] for i in order]),
            "kind": np.array([rows[i][1] for i in order]),
            "time": times[order],
            "article": np.array([rows[i][3] for i in order]),
            "story": np.array([rows[i][4] for i in order]),
            "target": [rows[i][5] for i in order],
            "value": np.array([rows[i][6] for i in order]),
            "request": np.array([rows[i][7] for i in order]),
            "kind_names": self.KINDS,
            "requests": self.requests,
        }


# -- the feed -----------------------------------------------------------------------------


def _calls(
    tidings: Any,
    readers: list[int],
    *,
    record: bool,
    label: str,
    budget: float,
    progress: Any,
) -> dict[str, Any]:
    """Time ``tidings.feed`` for each reader; note calls that rebuilt the shared pool or
    had to look up followed topics the pool had not cached."""
    feeds = tidings.feeds
    ms: list[float] = []
    cpu_ms: list[float] = []  # this process's CPU time: less swayed by other jobs than wall time
    rebuilt: list[bool] = []
    about_misses: list[bool] = []
    items: list[int] = []
    task = progress.add_task(label, total=len(readers))
    started = time.perf_counter()
    for reader in readers:
        before = feeds._pool
        cached = len(before.about) if before is not None else 0
        t0, c0 = time.perf_counter(), time.process_time()
        page = tidings.feed(reader, limit=30, record=record)
        ms.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.process_time() - c0) * 1000)
        after = feeds._pool
        rebuilt.append(after is not before)
        about_misses.append(after is before and len(after.about) > cached)
        items.append(len(page.items))
        progress.update(task, advance=1)
        if time.perf_counter() - started > budget:
            break
    wall = time.perf_counter() - started
    steady = [m for m, r, a in zip(ms, rebuilt, about_misses, strict=True) if not (r or a)]
    return {
        **_stats(ms),
        "record": record,
        "cpu": _stats(cpu_ms),
        "wall_seconds": round(wall, 1),
        "calls_per_s": round(len(ms) / wall, 1),
        "items_mean": round(float(np.mean(items)), 1) if items else 0,
        # Calls during which the shared pool was replaced (built inline, or swapped in by a
        # background refresh while the call ran).
        "pool_rebuilds": sum(rebuilt),
        "pool_rebuild_ms": [round(m, 1) for m, r in zip(ms, rebuilt, strict=True) if r],
        "calls_with_topic_lookups": sum(about_misses),
        "topic_lookup_calls": _stats([m for m, a in zip(ms, about_misses, strict=True) if a]),
        "steady": _stats(steady),  # neither a pool rebuild nor a followed-topic lookup
        "load_after": _load(),
    }


def _pool_breakdown(tidings: Any, repeats: int = 3) -> dict[str, Any]:
    from tidings.rank.feed import POOL_STORIES, POPULARITY_WINDOW
    from tidings.store import candidates as candidate_store
    from tidings.store import events as event_store

    parts: dict[str, list[float]] = {"stories": [], "popularity": [], "whole pool": []}
    sizes: dict[str, int] = {}
    for _ in range(repeats):
        with tidings.engine.connect() as connection:
            t0 = time.perf_counter()
            stories = candidate_store.newest(connection, POOL_STORIES)
            parts["stories"].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            popular = event_store.popularity(connection, datetime.now(UTC) - POPULARITY_WINDOW)
            parts["popularity"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        tidings.feeds._build_pool()
        parts["whole pool"].append((time.perf_counter() - t0) * 1000)
        sizes = {"pool_stories": len(stories), "stories_with_popularity": len(popular)}
    return {
        **{f"{k}_ms": round(float(np.median(v)), 1) for k, v in parts.items()},
        **sizes,
    }


def _topic_lookups(tidings: Any, rng: np.random.Generator) -> dict[str, Any]:
    """Time of one followed-topic lookup (``candidates.about``) for common and random keys."""
    from sqlalchemy import func, select

    from tidings.rank.feed import FOLLOWED_STORIES
    from tidings.store import candidates as candidate_store
    from tidings.store.schema import article_topics

    with tidings.engine.connect() as connection:
        common = connection.execute(
            select(article_topics.c.topic_id, func.count().label("n"))
            .where(article_topics.c.origin == "entity")
            .group_by(article_topics.c.topic_id)
            .order_by(func.count().desc())
        ).all()
        keys = [(r.topic_id.split(":", 1)[1], r.n) for r in common]
        sample = [keys[i] for i in range(min(3, len(keys)))]
        sample += [keys[int(i)] for i in rng.integers(0, len(keys), size=min(10, len(keys)))]
        out = []
        for key, n in sample:
            t0 = time.perf_counter()
            found = candidate_store.about(connection, [key], FOLLOWED_STORIES)
            out.append(
                {
                    "key": key,
                    "articles": n,
                    "stories": len(found),
                    "ms": round((time.perf_counter() - t0) * 1000, 1),
                }
            )
    return {
        "top3": out[:3],
        "random_median_ms": round(float(np.median([o["ms"] for o in out[3:]])), 1),
    }


def _special_readers(tidings: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from tidings.store.schema import events

    with tidings.engine.connect() as connection:
        follows = connection.execute(
            select(events.c.reader_id, func.count().label("n"))
            .where(events.c.kind == "follow")
            .group_by(events.c.reader_id)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        heaviest = connection.execute(
            select(events.c.reader_id, func.count().label("n"))
            .group_by(events.c.reader_id)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
    return {
        "most_follows": follows.reader_id,
        "most_follows_count": follows.n,
        "most_events": heaviest.reader_id,
        "most_events_count": heaviest.n,
    }


def _one_reader(tidings: Any, reader: int, calls: int = 20) -> dict[str, Any]:
    tidings.feeds.pool()  # a fresh pool, unless it is still current
    ms = []
    for _ in range(calls):
        t0 = time.perf_counter()
        tidings.feed(reader, limit=30, record=False)
        ms.append((time.perf_counter() - t0) * 1000)
    return {"reader": reader, "first_ms": round(ms[0], 1), "then": _stats(ms[1:])}


def _profile(tidings: Any, readers: list[int]) -> dict[str, Any]:
    """cProfile of warm record=True calls: the top functions by cumulative and by own time."""
    tidings.feeds.pool()
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for reader in readers:
        tidings.feed(reader, limit=30, record=True)
    profiler.disable()
    wall = time.perf_counter() - t0
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    (RESULTS / "feed-profile.txt").write_text(text.getvalue())

    def top(column: int, n: int = 15) -> list[dict[str, Any]]:
        out = []
        entries = stats.stats.items()  # type: ignore[attr-defined]
        for (filename, line, name), numbers in sorted(
            entries, key=lambda kv: kv[1][column], reverse=True
        ):
            where = filename.split("site-packages/")[-1].split("/src/")[-1]
            if where.endswith("benchmarks/feed.py") or "_lsprof" in name:
                continue
            out.append(
                {
                    "function": name if where == "~" else f"{where}:{line}({name})",
                    "calls_per_feed": round(numbers[1] / len(readers), 1),
                    "own_ms_per_feed": round(numbers[2] * 1000 / len(readers), 2),
                    "cumulative_ms_per_feed": round(numbers[3] * 1000 / len(readers), 2),
                }
            )
            if len(out) == n:
                break
        return out

    return {
        "calls": len(readers),
        "ms_per_feed_profiled": round(wall * 1000 / len(readers), 1),
        "top_cumulative": top(3),
        "top_own_time": top(2),
    }


def feed_phase(args: argparse.Namespace, url: str, *, trained: bool) -> dict[str, Any]:
    from sqlalchemy import func, select

    from tidings.store.schema import readers

    rng = np.random.default_rng(args.seed + (7 if trained else 3))
    out: dict[str, Any] = {"load_before": _load()}
    t0 = time.perf_counter()
    from tidings.library import Tidings

    out["import_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    t0 = time.perf_counter()
    tidings = Tidings(url)
    out["open_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    with tidings.engine.connect() as connection:
        n_readers = connection.execute(select(func.count()).select_from(readers)).scalar_one()
    # Distinct readers as far as they go (then round again), as many as the calls need.
    ids = np.resize(rng.permutation(n_readers) + 1, 2 * args.calls + args.profile_calls + 1)
    ids = ids.tolist()
    # Cold: the first call builds the pool, loads the scorer, imports the ranking modules.
    t0 = time.perf_counter()
    page = tidings.feed(ids[0], limit=30, record=False)
    out["cold_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    out["scorer"] = page.scorer
    out["rss_after_cold"] = _rss_mb()
    with _progress() as progress:
        if not trained:
            out["pool"] = _pool_breakdown(tidings)
            out["topic_lookup"] = _topic_lookups(tidings, rng)
            special = _special_readers(tidings)
            out["readers"] = special
            out["reader_most_follows"] = _one_reader(tidings, special["most_follows"])
            out["reader_most_events"] = _one_reader(tidings, special["most_events"])
        out["warm_record_false"] = _calls(
            tidings,
            ids[1 : 1 + args.calls],
            record=False,
            label="feed record=False" + (" (trained)" if trained else ""),
            budget=args.max_seconds,
            progress=progress,
        )
        out["rss_after_record_false"] = _rss_mb()
        if not trained:
            out["warm_record_true"] = _calls(
                tidings,
                ids[1 + args.calls : 1 + 2 * args.calls],
                record=True,
                label="feed record=True",
                budget=args.max_seconds,
                progress=progress,
            )
            out["rss_after_record_true"] = _rss_mb()
    if not trained and args.profile_calls:
        out["profile"] = _profile(tidings, ids[-args.profile_calls :])
    tidings.close()
    out["load_after"] = _load()
    out["rss_mb"] = _rss_mb()
    return out


class _OutOfTime(Exception):
    pass


def _train(tidings: Any, kind: str, budget: float) -> dict[str, Any]:
    """Train one kind; a training still replaying after ``budget`` seconds is stopped (from
    its progress callback, before it saves anything) and its time extrapolated."""
    from tidings.errors import TidingsError

    seen: list[tuple[float, int, int]] = []  # (seconds, requests replayed, of)
    with _progress() as progress:
        task = progress.add_task(f"train {kind}", total=None)
        t0 = time.perf_counter()

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            seen.append((time.perf_counter() - t0, done, total))
            if done < total and seen[-1][0] > budget:
                raise _OutOfTime

        try:
            result = tidings.train(kind=kind, progress=tick).to_dict()
        except TidingsError as exc:  # too little to learn from
            result = {"error": str(exc)}
        except _OutOfTime:
            elapsed, done, total = seen[-1]
            first = seen[0]  # the log is loaded by then: the replay rate from here on
            rate = (elapsed - first[0]) / max(1, done - first[1])
            result = {
                "timed_out": True,
                "replayed": done,
                "of": total,
                "extrapolated_seconds": round(elapsed + rate * (total - done), 0),
            }
        wall = time.perf_counter() - t0
    result["first_progress_seconds"] = round(seen[0][0], 1) if seen else None
    return {"wall_seconds": round(wall, 1), **result, "rss_mb": _rss_mb()}


def train_phase(args: argparse.Namespace, url: str, kind: str) -> dict[str, Any]:
    from tidings.library import Tidings

    load_before = _load()
    tidings = Tidings(url)
    out = _train(tidings, kind, args.train_seconds)
    print(f"train {kind}: {json.dumps(out)}")
    tidings.close()
    return {**out, "load_before": load_before, "load_after": _load()}


def _git(*words: str) -> str:
    """A read-only git command in the repository; its output."""
    done = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def _code() -> dict[str, Any]:
    """Which code this process runs: a --commit snapshot, or the working tree as it is now
    (other work may change src/ between phases)."""
    import tidings

    where = Path(tidings.__file__).resolve().parent
    if os.environ.get("TIDINGS_BENCH_COMMIT"):
        return {"commit": os.environ["TIDINGS_BENCH_COMMIT"], "tidings": str(where)}
    diff = _git("diff", "HEAD", "--", "src")
    return {
        "head": _git("rev-parse", "--short", "HEAD"),
        "src_changed": _git("diff", "HEAD", "--name-only", "--", "src").split(),
        "src_diff_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12] if diff else None,
        "tidings": str(where),
    }


def _snapshot(commit: str) -> tuple[str, Path]:
    """``src/`` of ``commit`` extracted under benchmarks/results (git archive: read-only)."""
    import tarfile

    full = _git("rev-parse", "--verify", f"{commit}^{{commit}}")
    if not full:
        raise SystemExit(f"no commit {commit!r} in {ROOT}")
    where = RESULTS / f"src-{full[:10]}"
    if not (where / "src" / "tidings").is_dir():
        tar = subprocess.run(
            ["git", "archive", "--format=tar", full, "src"], cwd=ROOT, capture_output=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(where, filter="data")
    return full[:10], where / "src"


# -- driver -------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    url = f"sqlite:///{args.db}"
    code = _code()  # before the phase imports anything that could change meanwhile
    if args.phase == "build":
        result = build(args, url)
    elif args.phase == "feed":
        result = feed_phase(args, url, trained=False)
    elif args.phase.startswith("train-"):
        result = train_phase(args, url, args.phase.removeprefix("train-"))
    else:
        result = feed_phase(args, url, trained=True)
    result["code"] = code
    Path(args.phase_out).write_text(json.dumps(result, indent=2, default=str))


def _summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    b = results["build"]
    c = b["counts"]
    console.print(
        f"store: {c['articles']:,} articles, {c['stories']:,} stories, {c['readers']:,} "
        f"readers, {c['events']:,} events ({c.get('feed_requests', 0):,} feed requests), "
        f"{results['store_mb']:,.0f} MB; built in {b.get('build_total_seconds', '?')} s"
        + (" (reused)" if b.get("reused") else "")
    )
    console.print(f"machine: {os.cpu_count()} cores; {results['uptime_start']}")
    table = Table(title="feed(reader, limit=30) latency, ms")
    columns = (
        "",
        "n",
        "p50",
        "p95",
        "p99",
        "max",
        "cpu p50",
        "cpu p99",
        "pool swaps",
        "steady p99",
    )
    for name in columns:
        table.add_column(name, justify="right" if name else "left")
    rows = []
    if "feed" in results:
        f = results["feed"]
        rows += [("prior, record=False", f["warm_record_false"])]
        rows += [("prior, record=True", f["warm_record_true"])]
    if "feed_trained" in results:
        rows += [
            (
                f"{results['feed_trained']['scorer']}, record=False",
                results["feed_trained"]["warm_record_false"],
            )
        ]
    for name, s in rows:
        table.add_row(
            name,
            str(s["n"]),
            f"{s['p50_ms']:.1f}",
            f"{s['p95_ms']:.1f}",
            f"{s['p99_ms']:.1f}",
            f"{s['max_ms']:.1f}",
            f"{s['cpu']['p50_ms']:.1f}",
            f"{s['cpu']['p99_ms']:.1f}",
            str(s["pool_rebuilds"]),
            f"{s['steady'].get('p99_ms', float('nan')):.1f}",
        )
    if rows:
        console.print(table)
    if "feed" in results:
        f = results["feed"]
        top = f["topic_lookup"]["top3"][0]
        console.print(
            f"cold first call {f['cold_ms']:.0f} ms; pool build {f['pool']['whole pool_ms']:.0f}"
            f" ms (stories {f['pool']['stories_ms']:.0f}, popularity "
            f"{f['pool']['popularity_ms']:.0f}); followed-topic lookup: "
            f"{top['ms']:.0f} ms for '{top['key']}' ({top['articles']:,} articles)"
            f", median {f['topic_lookup']['random_median_ms']:.0f} ms"
        )
        for who in ("reader_most_follows", "reader_most_events"):
            r = f[who]
            console.print(
                f"{who}: reader {r['reader']}, first {r['first_ms']:.0f} ms, then p50 "
                f"{r['then'].get('p50_ms', 0):.0f} / max {r['then'].get('max_ms', 0):.0f} ms"
            )
    for kind in ("logistic", "lightgbm"):
        t = results.get(f"train_{kind}")
        if not t:
            continue
        if t.get("error"):
            console.print(f"train {kind}: failed after {t['wall_seconds']} s: {t['error']}")
        elif t.get("timed_out"):
            console.print(
                f"train {kind}: stopped after {t['wall_seconds']} s having replayed "
                f"{t['replayed']:,} of {t['of']:,} requests; ~{t['extrapolated_seconds']:,.0f}"
                " s for all"
            )
        else:
            console.print(
                f"train {kind}: {t['wall_seconds']} s, {t['requests']:,} requests, "
                f"{t['rows']:,} rows, {t['clicks']:,} clicks, held-out AUC {t['held_out_auc']}, "
                f"peak RSS {t['rss_mb']['peak']} MB"
            )
    codes = {
        json.dumps(v["code"], sort_keys=True)
        for v in results.values()
        if isinstance(v, dict) and "code" in v
    }
    for text in sorted(codes):
        code = json.loads(text)
        if code.get("commit"):
            line = f"code: commit {code['commit']} (snapshot)"
        else:
            line = f"code: working tree at HEAD {code['head']}"
            if code["src_changed"]:
                changed = len(code["src_changed"])
                line += f" + uncommitted changes to {changed} src files ({code['src_diff_sha1']})"
        console.print(
            line + (" (phases ran different code)" if len(codes) > 1 else ""), markup=False
        )
    peaks = {
        k: v["rss_mb"]["peak"] for k, v in results.items() if isinstance(v, dict) and "rss_mb" in v
    }
    console.print(f"peak RSS (MB) by phase: {peaks}; whole run {results['peak_rss_mb']} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=1000, help="feed calls per measurement")
    parser.add_argument("--max-seconds", type=float, default=600, help="time bound per loop")
    parser.add_argument(
        "--train-seconds", type=float, default=3600, help="time bound per training (replay)"
    )
    parser.add_argument("--profile-calls", type=int, default=100)
    parser.add_argument("--db", type=Path, default=RESULTS / "feed-bench.db")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"comma-separated of {','.join(PHASES)}"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "feed.json")
    parser.add_argument(
        "--commit", help="measure this commit's src/ (a snapshot) instead of the working tree"
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--phase-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.db = args.db.resolve()
    if args.phase:
        child(args)
        return

    RESULTS.mkdir(parents=True, exist_ok=True)
    wanted = [p for p in args.phases.split(",") if p]
    if "train" in wanted:
        wanted += ["train-logistic", "train-lightgbm"]
    if "build" not in wanted:
        wanted.insert(0, "build")  # it also resets what earlier runs logged
    results: dict[str, Any] = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cores": os.cpu_count(),
        "uptime_start": _uptime(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(results["uptime_start"])
    passed = [a for a in sys.argv[1:] if a != "--rebuild"]
    env = dict(os.environ)
    if args.commit:
        # Every phase runs the same code: that commit's src/, not the (changing) tree.
        rev, src = _snapshot(args.commit)
        env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
        env["TIDINGS_BENCH_COMMIT"] = rev
        results["commit"] = rev
        print(f"running the code of commit {rev} ({src})")
    for phase in PHASES:
        if phase not in wanted:
            continue
        out = RESULTS / f"feed-phase-{phase}.json"
        command = [sys.executable, __file__, *passed, "--phase", phase, "--phase-out", str(out)]
        if phase == "build" and args.rebuild:
            command.append("--rebuild")
        started = time.perf_counter()
        subprocess.run(command, check=True, env=env)
        result = json.loads(out.read_text())
        out.unlink()
        result["phase_seconds"] = round(time.perf_counter() - started, 1)
        results[phase.replace("-", "_")] = result
        print(
            f"{phase}: done in {result['phase_seconds']} s, peak RSS {result['rss_mb']['peak']} MB"
        )
    results["store_mb"] = _size_mb(args.db)
    results["uptime_end"] = _uptime()
    results["peak_rss_mb"] = round(
        max(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        )
        / 1024,
        1,
    )
    args.out.write_text(json.dumps(results, indent=2, default=str))
    _summary(results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
