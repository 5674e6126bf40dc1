"""The demo pack shipped with tidings, to try it without fetching anything:

- ``wikinews.jsonl.gz``: 2,500 English Wikinews articles up to March 2014 (CC BY 2.5);
- ``uci_news_aggregator.jsonl.gz``: 6,366 headlines from 1,948 outlets, 10–12 March 2014,
  from the UCI News Aggregator data set (CC BY 4.0) — the same events told by many outlets;
- ``understood.jsonl.gz`` and ``vectors.i8.gz``: what understanding found in both (entities,
  sections, key points, embeddings, stories), so a new store is ready in seconds.

Built by ``scripts/build_demo.py``; see ``ATTRIBUTION.md`` for the licences and the changes.
"""

from __future__ import annotations

import gzip
from importlib.resources import files
from pathlib import Path

from tidings.models import Document

DEMO_NAME = "demo:wikinews"
UCI_NAME = "demo:uci-news-aggregator"
# The package is installed as plain files (setuptools package-data), so resources are paths.
DATA: Path = Path(str(files(__name__) / "data"))
DEMO_PATH: Path = DATA / "wikinews.jsonl.gz"
UCI_PATH: Path = DATA / "uci_news_aggregator.jsonl.gz"
UNDERSTOOD_PATH: Path = DATA / "understood.jsonl.gz"
VECTORS_PATH: Path = DATA / "vectors.i8.gz"
ATTRIBUTION_PATH: Path = Path(str(files(__name__) / "ATTRIBUTION.md"))


def demo_document() -> Document:
    """The Wikinews part as one JSON Lines document (every line names ``"source": "Wikinews"``)."""
    return Document(name=DEMO_NAME, data=gzip.decompress(DEMO_PATH.read_bytes()))


def demo_documents() -> list[Document]:
    """Both parts of the pack, Wikinews first: each a JSON Lines document."""
    uci = Document(name=UCI_NAME, data=gzip.decompress(UCI_PATH.read_bytes()))
    return [demo_document(), uci]
