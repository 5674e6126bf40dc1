"""Understanding throughput: entities + section + embedding + key points + stories.

Run on demand (not a test):  python benchmarks/understand.py [--articles 5000] [--no-baseline]

Loads N Wikinews articles into a fresh SQLite store and understands them twice in one run,
each on its own copy of the store: the old way (``--baseline``: full-text NER in this process,
the embedding on a second thread) and the pipeline's way (NER on the lead, known names after
it, a persistent pool of one process per core). Reports articles/s and CPU seconds of both
and their ratio, then each stage's CPU per article on a sample (so the report says where the
time goes), and the pipeline way's top-5 entity recall against full-text NER. The machine may
be shared: compare the ratios, not the absolute figures. Writes
benchmarks/results/understand.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    """CPU seconds of this process and of its children that have exited."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _understand(db: Path, *, fast: bool) -> dict[str, Any]:
    from tidings.library import Tidings
    from tidings.understand import pool
    from tidings.understand.pipeline import Understander

    with Tidings(f"sqlite:///{db}") as tidings:
        understander = Understander(fast=fast)
        tidings._understander = understander  # the run under test, not a default one
        understander.embedder.embed(["warm up"])  # model loading is not throughput
        cpu, wall = _cpu(), time.perf_counter()
        report = tidings.understand()
        wall = time.perf_counter() - wall
        pool.close()  # the workers exit, so their CPU time is counted
        cpu = _cpu() - cpu
        stories = tidings.story_count(min_articles=2)
    return {
        "articles": report.articles,
        "seconds": round(wall, 2),
        "articles_per_s": round(report.articles / wall, 1),
        "cpu_ms_per_article": round(1000 * cpu / max(report.articles, 1), 1),
        "stories_started": report.stories_started,
        "stories_joined": report.stories_joined,
        "stories_with_2_or_more": stories,
    }


def _stages(sample: list[Any], count: int) -> dict[str, float]:
    """CPU milliseconds per article of each stage, one process, one thread each."""
    from threadpoolctl import threadpool_limits

    from tidings.understand.embeddings import MiniLMEmbedder, article_text
    from tidings.understand.entities import EntityExtractor
    from tidings.understand.keypoints import key_points
    from tidings.understand.pipeline import LEAD_CHARS, MAX_ENTITY_CHARS

    articles = sample[:count]
    texts = ["\n\n".join([a.title, *a.paragraphs])[:MAX_ENTITY_CHARS] for a in articles]
    parts: dict[str, float] = {}
    with threadpool_limits(1):
        extractor = EntityExtractor()
        embedder = MiniLMEmbedder(threads=1)
        embedder.embed(["warm up"])
        extractor.extract(["Warm up in Paris."])

        def timed(name: str, work: Any) -> None:
            started = time.process_time()
            work()
            parts[name] = round(1000 * (time.process_time() - started) / len(articles), 1)

        timed("ner_full_text", lambda: extractor.extract(texts))
        timed("ner_lead_and_names", lambda: extractor.extract(texts, lead_chars=LEAD_CHARS))
        timed(
            "embedding",
            lambda: embedder.embed([article_text(a.title, a.paragraphs) for a in articles]),
        )
        timed("key_points", lambda: [key_points(a.title, a.paragraphs) for a in articles])
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--stage-sample", type=int, default=500)
    parser.add_argument("--no-baseline", action="store_true", help="skip the old way's run")
    parser.add_argument("--recall", type=int, default=1000, help="demo articles (0: skip)")
    args = parser.parse_args()

    from tidings.library import Tidings

    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    for leftover in out.glob("understand*.db*"):
        leftover.unlink()
    source = args.shared / "data/wikinews/wikinews_2004_2018.jsonl"
    with source.open(encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(args.articles), handle, strict=False)]
    sample = out / "wikinews-sample.jsonl"
    sample.write_text("".join(lines), encoding="utf-8")
    db = out / "understand.db"
    with Tidings(f"sqlite:///{db}") as tidings:
        list(tidings.ingest([str(sample)]))
        articles = tidings.articles(limit=args.stage_sample)

    row: dict[str, Any] = {"articles": args.articles}
    runs = [("pipeline", True)] + ([] if args.no_baseline else [("baseline", False)])
    for name, fast in runs:
        copy = out / f"understand-{name}.db"
        shutil.copyfile(db, copy)
        row[name] = _understand(copy, fast=fast)
        print(name, json.dumps(row[name]), flush=True)
    if "baseline" in row:
        row["speedup"] = round(
            row["pipeline"]["articles_per_s"] / row["baseline"]["articles_per_s"], 2
        )
        row["cpu_ratio"] = round(
            row["baseline"]["cpu_ms_per_article"] / row["pipeline"]["cpu_ms_per_article"], 2
        )
    row["stage_cpu_ms_per_article"] = _stages(articles, args.stage_sample)
    if args.recall:
        from tidings.evaluate.entities import demo_known_names, demo_sample, evaluate_top_recall

        demo = demo_sample(args.recall)
        report = evaluate_top_recall(demo, demo_known_names(demo))
        row["top5_recall"] = round(report.recall, 4)
        row["ner_share_of_text"] = round(report.ner_chars / max(report.chars, 1), 3)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(row, indent=2))
    (out / "understand.json").write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
