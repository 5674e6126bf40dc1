"""Every captured real feed goes into the store with one article per entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from tidings.library import Tidings


def _manifest() -> dict[str, Any]:
    """The feeds' manifest, read at collection for parametrisation; without ``../shared``
    there is nothing to parametrise over and pytest reports the test as skipped."""
    path = SHARED / "data/feeds/manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


MANIFEST = _manifest()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Tidings:
    return Tidings(f"sqlite:///{tmp_path_factory.mktemp('feeds') / 'feeds.db'}")


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_real_feed_stores_one_article_per_entry(
    store: Tidings, shared: Path, name: str
) -> None:
    (result,) = store.ingest([str(shared / "data/feeds" / name)])
    expected = MANIFEST[name]["entries"]
    if expected:
        assert result.status == "ok", result.error
    assert len(set(result.articles)) == expected
    if result.status == "error":  # e.g. a "Document Moved" HTML page saved as .rss
        assert result.error and result.error.startswith(str(shared / "data/feeds" / name))
