"""The demo pack: a few thousand English Wikinews articles shipped with tidings, to try it
without fetching anything. Built by ``scripts/build_demo.py``; see ``ATTRIBUTION.md`` for the
licence (CC BY 2.5) and what was changed."""

from __future__ import annotations

import gzip
from importlib.resources import files
from pathlib import Path

from tidings.models import Document

DEMO_NAME = "demo:wikinews"
_PACK = files(__name__) / "data" / "wikinews.jsonl.gz"
# The package is installed as plain files (setuptools package-data), so the resource is a path.
DEMO_PATH: Path = Path(str(_PACK))
ATTRIBUTION_PATH: Path = Path(str(files(__name__) / "ATTRIBUTION.md"))


def demo_document() -> Document:
    """The demo pack as one JSON Lines document (every line names ``"source": "Wikinews"``)."""
    return Document(name=DEMO_NAME, data=gzip.decompress(_PACK.read_bytes()))
