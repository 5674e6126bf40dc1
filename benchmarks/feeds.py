"""Feed parsing speed: the fast path (fastfeedparser, feedparser as fallback) against
feedparser alone, on the shared real feeds, in the same run.

    python benchmarks/feeds.py [--rounds 5]

Prints feeds/s for both, their ratio, and how many feeds took the fallback and why.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections import Counter
from pathlib import Path

from tidings.errors import ParseError
from tidings.ingest import fastfeed, feed
from tidings.models import Document

FEEDS = Path(__file__).resolve().parents[1] / "../shared/data/feeds"


def _rate(docs: list[Document], rounds: int, fast: bool) -> float:
    """Feeds per second, best of ``rounds`` passes (the machine is shared)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for doc in docs:
            with contextlib.suppress(ParseError):  # broken ones cost their time all the same
                feed.parse(doc, fast=fast)
        best = min(best, time.perf_counter() - start)
    return len(docs) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    paths = sorted(p for p in FEEDS.iterdir() if p.is_file() and p.name != "manifest.json")
    docs = [Document(name=str(p), data=p.read_bytes()) for p in paths if "LICENSE" not in p.name]
    reasons: Counter[str] = Counter()
    for doc in docs:
        answer = fastfeed.read(feed.prepare(doc.data)[0])
        reasons["fast" if isinstance(answer, fastfeed.FastFeed) else answer] += 1
    fast = _rate(docs, args.rounds, fast=True)
    slow = _rate(docs, args.rounds, fast=False)
    print(f"{len(docs)} feeds (JSON Feed included: it never reaches either XML reader)")
    print(f"feedparser only:      {slow:7.1f} feeds/s")
    print(f"fast path + fallback: {fast:7.1f} feeds/s  ({fast / slow:.2f}x)")
    print(f"read fast: {reasons.pop('fast', 0)}/{len(docs)}; fallback:")
    for reason, count in reasons.most_common():
        print(f"  {count:3d}  {reason}")


if __name__ == "__main__":
    main()
