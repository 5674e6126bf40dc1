"""Extractive key points for articles whose source gives none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidings.understand.keypoints import key_points, split_sentences


@pytest.fixture(scope="module")
def wikinews(shared: Path) -> list[dict[str, str]]:
    path = shared / "data/wikinews/wikinews_2019_2021.jsonl"
    with path.open(encoding="utf-8") as lines:
        articles = [json.loads(line) for line in lines]
    return [a for a in articles if a["text"].strip()][:40]


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_key_points_come_from_the_article_in_order(wikinews: list[dict[str, str]]) -> None:
    for article in wikinews:
        body = _flat(article["text"])
        points = key_points(article["title"], _paragraphs(article["text"]))
        assert len(points) == 3, article["title"]
        positions = [body.find(point) for point in points]
        assert all(p >= 0 for p in positions), (article["title"], points)
        assert positions == sorted(positions)


def test_key_points_say_what_the_story_is_about(wikinews: list[dict[str, str]]) -> None:
    article = next(a for a in wikinews if a["title"].startswith("Magnitogorsk"))
    points = key_points(article["title"], _paragraphs(article["text"]))
    assert "Magnitogorsk" in points[0]
    assert any("explosion" in p or "gas" in p for p in points)


def test_key_points_from_a_captured_news_page(shared: Path) -> None:
    page = (shared / "seed/000_423f00d2bfa5128c.txt").read_text(encoding="utf-8")
    title = (
        "China vows to work with North Korea to protect regional stability as tensions "
        "with Seoul escalate"
    )
    points = key_points(title, page.split("\n\n"), count=2)
    assert len(points) == 2
    assert any("North Korea" in p for p in points)
    for point in points:
        assert point in _flat(page)
        assert 6 <= len(point.split()) <= 60
        assert point != "Advertisement" and not point.startswith("Photo:")
        assert point != title  # the headline itself appears in the capture


def test_same_input_gives_same_key_points(wikinews: list[dict[str, str]]) -> None:
    article = wikinews[3]
    runs = {tuple(key_points(article["title"], _paragraphs(article["text"]))) for _ in range(3)}
    assert len(runs) == 1


def test_short_bodies_get_no_key_points() -> None:
    title = "Storm closes schools across the region"
    assert key_points(title, []) == []
    assert key_points(title, [""]) == []
    two = ["A storm closed every school in the region on Monday.", "Classes resume on Friday."]
    assert key_points(title, two) == []


def test_a_three_sentence_body_gives_at_most_two_points() -> None:
    body = [
        "A storm closed every school in the northern region on Monday morning.",
        "Forecasters expect winds of up to 120 km/h until Wednesday evening.",
        "Classes are set to resume on Friday if the roads are cleared in time.",
    ]
    points = key_points("Storm closes schools across the region", body)
    assert len(points) == 2
    assert points == [s for s in body if s in points]


def test_headline_repeats_and_bare_quotes_are_not_key_points() -> None:
    title = "Storm closes schools across the northern region"
    body = [
        "Storm closes schools across the northern region.",
        '"It was the worst night of my life and I will never forget it," one parent said.',
        "A storm with winds of 120 km/h closed every school in the region on Monday.",
        "Hundreds of trees fell onto roads, and power was cut to 40,000 homes overnight.",
        "Forecasters expect the wind to ease by Wednesday evening, officials said.",
        "Classes are set to resume on Friday if the roads are cleared in time.",
    ]
    points = key_points(title, body)
    assert body[0] not in points
    assert body[1] not in points
    assert points[0] == body[2]


def test_near_identical_sentences_are_picked_once() -> None:
    body = [
        "The central bank raised its main interest rate by half a point on Thursday.",
        "On Thursday the central bank raised its main interest rate by half a point.",
        "Inflation reached 9 per cent in the year to March, the highest in four decades.",
        "Economists had expected a smaller rise of a quarter of a point this month.",
    ]
    points = key_points("Central bank raises interest rates", body, count=3)
    assert not (body[0] in points and body[1] in points)


def test_count_limits_the_number_of_points(wikinews: list[dict[str, str]]) -> None:
    article = wikinews[0]
    paragraphs = _paragraphs(article["text"])
    assert len(key_points(article["title"], paragraphs, count=2)) == 2
    assert key_points(article["title"], paragraphs, count=0) == []


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (
            "The U.S. Senate voted on Jan. 5. Mr. Smith said prices rose 3.5 per cent.",
            ["The U.S. Senate voted on Jan. 5.", "Mr. Smith said prices rose 3.5 per cent."],
        ),
        (
            '"Why?" he asked. "Because," she said, "it is late." Then they left.',
            ['"Why?" he asked.', '"Because," she said, "it is late."', "Then they left."],
        ),
        (
            "John F. Kennedy arrived at 12:30 p.m. The crowd cheered.",
            ["John F. Kennedy arrived at 12:30 p.m.", "The crowd cheered."],
        ),
        (
            "He moved to the U.S. The next day he joined Apple Inc. in California.",
            ["He moved to the U.S.", "The next day he joined Apple Inc. in California."],
        ),
        (
            "“We will not give up.” The minister spoke on Monday.\nPhoto: Getty Images",
            ["“We will not give up.”", "The minister spoke on Monday.", "Photo: Getty Images"],
        ),
    ],
)
def test_sentences_split_where_a_reader_would(paragraph: str, expected: list[str]) -> None:
    assert split_sentences(paragraph) == expected
