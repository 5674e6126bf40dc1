"""Feed parsing speed: the fast path (fastfeedparser, feedparser as fallback) against
feedparser alone, on the shared real feeds, in the same run.

    python benchmarks/feeds.py [--rounds 10]

Prints feeds/s for three readings and the ratios between them, and how many feeds took the
fallback and why: tidings with the fast path; tidings with feedparser only (``fast=False``:
the same per-entry work on each article); and the bare ``feedparser.parse`` call tidings
makes, with none of tidings' work, a reference that does not move when tidings changes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import feedparser

from tidings.errors import ParseError
from tidings.ingest import fastfeed, feed, html_text
from tidings.models import Document

FEEDS = Path(__file__).resolve().parents[1] / "../shared/data/feeds"


def _tidings(fast: bool) -> Callable[[Document], object]:
    def read(doc: Document) -> object:
        with contextlib.suppress(ParseError):  # broken ones cost their time all the same
            return feed.parse(doc, fast=fast)
        return None

    return read


def _bare(doc: Document) -> object:
    """feedparser alone, called as tidings calls it."""
    return feedparser.parse(io.BytesIO(doc.data), sanitize_html=False, resolve_relative_uris=False)


def _rates(docs: list[Document], rounds: int) -> dict[str, float]:
    """Feeds per second of each reading, best of ``rounds`` passes. The readings take turns
    within each round, so a busy spell on the shared machine slows them alike."""
    readers = {"bare": _bare, "slow": _tidings(fast=False), "fast": _tidings(fast=True)}
    best = dict.fromkeys(readers, float("inf"))
    for _ in range(rounds):
        for name, read in readers.items():
            # Each pass resolves its addresses afresh, as a poller's next feed would.
            html_text._absolute_url.cache_clear()
            start = time.perf_counter()
            for doc in docs:
                read(doc)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: len(docs) / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    paths = sorted(p for p in FEEDS.iterdir() if p.is_file() and p.name != "manifest.json")
    docs = [Document(name=str(p), data=p.read_bytes()) for p in paths if "LICENSE" not in p.name]
    reasons: Counter[str] = Counter()
    for doc in docs:
        answer = fastfeed.read(feed.prepare(doc.data)[0])
        reasons["fast" if isinstance(answer, fastfeed.FastFeed) else answer] += 1
    rates = _rates(docs, args.rounds)
    bare, slow, fast = rates["bare"], rates["slow"], rates["fast"]
    print(f"{len(docs)} feeds (JSON Feed included: it never reaches either XML reader)")
    print(f"feedparser.parse alone:      {bare:7.1f} feeds/s")
    print(f"tidings, feedparser only:    {slow:7.1f} feeds/s  ({slow / bare:.2f}x bare feedparser)")
    print(
        f"tidings, fast path+fallback: {fast:7.1f} feeds/s  ({fast / bare:.2f}x bare feedparser, "
        f"{fast / slow:.2f}x feedparser only)"
    )
    print(f"read fast: {reasons.pop('fast', 0)}/{len(docs)}; fallback:")
    for reason, count in reasons.most_common():
        print(f"  {count:3d}  {reason}")


if __name__ == "__main__":
    main()
