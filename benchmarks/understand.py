"""Understanding throughput: entities + section + embedding + key points + stories.

Run on demand (not a test):  python benchmarks/understand.py [--articles 5000]

Loads N Wikinews articles into a fresh SQLite store, then times `understand` as a whole and
each model on its own (so the report says where the time goes). Peak RSS is the process's.
Writes benchmarks/results/understand.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--articles", type=int, default=5000)
    args = parser.parse_args()

    from tidings.library import Tidings
    from tidings.understand.embeddings import article_text, default_embedder
    from tidings.understand.entities import default_extractor
    from tidings.understand.keypoints import key_points
    from tidings.understand.pipeline import MAX_ENTITY_CHARS

    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    db = out / "understand.db"
    for leftover in out.glob("understand.db*"):
        leftover.unlink()
    source = args.shared / "data/wikinews/wikinews_2004_2018.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines()
    sample = out / "wikinews-sample.jsonl"
    sample.write_text("\n".join(lines[: args.articles]) + "\n", encoding="utf-8")

    with Tidings(f"sqlite:///{db}") as tidings:
        list(tidings.ingest([str(sample)]))
        articles = tidings.articles(limit=args.articles)
        # Load the models first so the timing below is the steady state.
        embedder, extractor = default_embedder(), default_extractor()
        embedder.embed(["warm up"])
        extractor.extract(["Warm up in Paris."])

        parts: dict[str, float] = {}
        texts = [article_text(a.title, a.paragraphs) for a in articles]
        started = time.perf_counter()
        embedder.embed(texts)
        parts["embedding"] = time.perf_counter() - started
        entity_texts = ["\n\n".join([a.title, *a.paragraphs])[:MAX_ENTITY_CHARS] for a in articles]
        started = time.perf_counter()
        extractor.extract(entity_texts)
        parts["entities"] = time.perf_counter() - started
        started = time.perf_counter()
        for a in articles:
            key_points(a.title, a.paragraphs)
        parts["key points"] = time.perf_counter() - started

        report = tidings.understand()
        stories = tidings.story_count(min_articles=2)
    row = {
        "articles": report.articles,
        "seconds": round(report.seconds, 2),
        "articles_per_s": round(report.articles / report.seconds, 1),
        "stories_started": report.stories_started,
        "stories_joined": report.stories_joined,
        "stories_with_2_or_more": stories,
        "parts_seconds": {k: round(v, 2) for k, v in parts.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(row, indent=2))
    (out / "understand.json").write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
