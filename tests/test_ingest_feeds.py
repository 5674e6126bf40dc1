"""Every captured real feed goes into the store with one article per entry."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED
from tidings.library import Tidings

MANIFEST = json.loads((SHARED / "data/feeds/manifest.json").read_text())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Tidings:
    return Tidings(f"sqlite:///{tmp_path_factory.mktemp('feeds') / 'feeds.db'}")


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_real_feed_stores_one_article_per_entry(store: Tidings, name: str) -> None:
    (result,) = store.ingest([str(SHARED / "data/feeds" / name)])
    expected = MANIFEST[name]["entries"]
    if expected:
        assert result.status == "ok", result.error
    assert len(set(result.articles)) == expected
    if result.status == "error":  # e.g. a "Document Moved" HTML page saved as .rss
        assert result.error and result.error.startswith(str(SHARED / "data/feeds" / name))
