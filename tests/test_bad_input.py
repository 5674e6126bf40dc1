"""Bad input gets a clear error naming it; the rest of the batch still goes in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.library import Tidings


def _errors(tidings: Tidings, *paths: Path) -> list[str]:
    return [r.error or "" for r in tidings.ingest([str(p) for p in paths])]


def test_empty_and_binary_files_are_named_and_explained(tmp_path: Path, tidings: Tidings) -> None:
    empty, binary = tmp_path / "empty.rss", tmp_path / "photo.jpg"
    empty.write_bytes(b"  \n")
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 20)
    first, second = _errors(tidings, empty, binary)
    assert first == f"{empty}: empty input: there is nothing to read"
    assert second.startswith(f"{binary}: ") and "binary" in second


def test_a_50_mb_capture_is_refused_as_too_large(tmp_path: Path, tidings: Tidings) -> None:
    huge = tmp_path / "huge.txt"
    huge.write_text("A very long line of page text that goes on. " * 1_200_000)
    (error,) = _errors(tidings, huge)
    assert error.startswith(f"{huge}: too large") and "MB" in error


def test_a_page_with_no_article_is_an_error(tmp_path: Path, tidings: Tidings) -> None:
    page = tmp_path / "nav.html"
    page.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    (error,) = _errors(tidings, page)
    assert error.startswith(f"{page}: ") and "no article" in error


def test_a_capture_in_a_legacy_encoding_is_still_read(tmp_path: Path, tidings: Tidings) -> None:
    text = (
        "Café owners in Zürich protest new rules on terrace heaters\n\n"
        "Owners of cafés across Zürich said on Monday that the city’s new rules would "
        "force many of them to close their terraces for the winter months.\n\n"
        "The city council said the rules were needed to meet its climate targets, "
        "and that owners had been consulted for more than a year before the vote.\n"
    )
    capture = tmp_path / "cafe.txt"
    capture.write_bytes(text.encode("cp1252"))
    (result,) = tidings.ingest([str(capture)])
    assert result.status == "ok", result.error
    article = tidings.article(result.articles[0])
    assert article.title.startswith("Café owners in Zürich")


def test_json_that_is_not_articles_is_refused(tmp_path: Path, tidings: Tidings) -> None:
    other = tmp_path / "package.json"
    other.write_text('{"name": "left-pad", "version": "1.3.0"}')
    (error,) = _errors(tidings, other)
    assert error == f"{other}: JSON, but neither a JSON Feed nor JSON Lines of articles"


def test_an_opml_file_given_to_ingest_points_to_sources_import(
    tmp_path: Path, tidings: Tidings
) -> None:
    subs = tmp_path / "subs.opml"
    subs.write_text('<opml version="2.0"><body><outline xmlUrl="https://e.com/rss"/></body></opml>')
    (error,) = _errors(tidings, subs)
    assert "tidings sources import" in error


def test_every_conformance_feed_goes_through_ingest_without_a_crash(
    shared: Path, tidings: Tidings
) -> None:
    results = list(tidings.ingest([str(shared / "data/feed-conformance")]))
    assert len(results) >= 2100
    crashes = [
        r.error
        for r in results
        if r.error and ("could not be read (" in r.error or "could not be stored (" in r.error)
    ]
    assert crashes == []
    assert sum(r.status == "ok" for r in results) >= 1800


@pytest.mark.parametrize(
    "name", ["utf-16be.xml", "utf16.xml", "utf-32le.xml", "utf-32be-bom.xml", "u16.xml"]
)
def test_feeds_in_utf16_and_utf32_are_read(shared: Path, tmp_path: Path, name: str) -> None:
    with Tidings(f"sqlite:///{tmp_path / 'wide.db'}") as tidings:
        (result,) = tidings.ingest([str(shared / "data/feed-conformance/encoding" / name)])
    assert (result.kind, result.status) == ("feed", "ok"), result.error


def test_a_folder_s_licence_readme_and_pictures_are_skipped_with_a_note(
    tmp_path: Path, tidings: Tidings
) -> None:
    """Pointing ingest at a downloaded folder of pages stores its news, not its LICENSE,
    README or pictures; each skipped file is reported with why, and a file named on its own
    is still read whatever its name."""
    folder = tmp_path / "pages"
    (folder / "photos").mkdir(parents=True)
    capture = Path(__file__).parent / "fixtures/captures/bbc_style_ferry_fine.txt"
    (folder / "ferry.txt").write_bytes(capture.read_bytes())
    (folder / "LICENSE").write_text("Apache License, Version 2.0. " * 40)
    (folder / "README.md").write_text("# Pages\n\nThese pages were saved for testing. " * 20)
    (folder / "notice-to-quit.txt").write_bytes(capture.read_bytes())  # news, despite its name
    (folder / "photos" / "ferry.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    skipped: list[tuple[str, str]] = []
    results = list(tidings.ingest([str(folder)], skipped=lambda n, why: skipped.append((n, why))))
    assert [Path(r.input).name for r in results] == ["ferry.txt", "notice-to-quit.txt"]
    assert all(r.status == "ok" for r in results)
    assert sorted(Path(name).name for name, _ in skipped) == ["LICENSE", "README.md", "ferry.jpg"]
    assert all("not news" in why or "no parser reads" in why for _, why in skipped)
    (alone,) = tidings.ingest([str(folder / "README.md")])  # named on its own: read
    assert alone.input.endswith("README.md")
