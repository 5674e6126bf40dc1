"""How the pages word and shape things, checked without a server: relative times, the
undated, source badges, paragraphs out of a wall of text, key points that add something,
and "Hidden and why" grouped by reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tidings.rank.page import Filtered
from tidings.web import present

NOW = datetime(2014, 3, 12, 10, 0, tzinfo=UTC)


def test_times_read_as_a_news_app_says_them_relative_to_the_feeds_now() -> None:
    assert present.ago(NOW - timedelta(seconds=20), NOW) == "just now"
    assert present.ago(NOW + timedelta(minutes=3), NOW) == "just now"  # a clock a bit ahead
    assert present.ago(NOW - timedelta(minutes=12), NOW) == "12 min ago"
    assert present.ago(NOW - timedelta(hours=3, minutes=40), NOW) == "3 h ago"
    assert present.ago(NOW - timedelta(days=2, hours=5), NOW) == "2 d ago"
    assert present.ago(datetime(2013, 11, 5, tzinfo=UTC), NOW) == "5 Nov 2013"


def test_an_item_without_a_date_says_undated_and_its_tooltip_says_why() -> None:
    assert present.ago(None, NOW) == "undated"
    assert present.full_date(None) == "No date given by the source"
    assert present.full_date(NOW) == "Wednesday 12 March 2014, 10:00 UTC"


def test_a_source_gets_its_own_letter_and_the_same_colour_every_time() -> None:
    assert present.initial("The Guardian") == "G"
    assert present.initial("bbc.co.uk") == "B"
    assert present.initial("9News") == "9"
    assert present.badge_colour("Reuters") == present.badge_colour("reuters")
    colours = {present.badge_colour(s) for s in ["Reuters", "BBC", "AP", "CNN", "Al Jazeera"]}
    assert len(colours) > 1 and all(0 <= c < present.BADGE_COLOURS for c in colours)


def test_a_wall_of_text_is_cut_into_paragraphs_at_sentence_ends() -> None:
    sentences = [f"Sentence number {i} says one more thing about the budget." for i in range(40)]
    wall = " ".join(sentences)
    pieces = present.readable([wall, "A short closing paragraph."])
    assert len(pieces) > 3 and pieces[-1] == "A short closing paragraph."
    assert " ".join(pieces[:-1]) == wall  # nothing lost, nothing reordered
    assert all(p.endswith(".") and p[0].isupper() for p in pieces)
    assert max(len(p) for p in pieces) < present.WALL


def test_a_key_point_the_first_paragraph_already_says_is_dropped() -> None:
    first = (
        "Parliament passed the budget on Tuesday after a debate that lasted three days, "
        "with 312 votes in favour."
    )
    points = [
        "Parliament passed the budget on Tuesday after a three-day debate.",
        "The opposition promised to repeal the fuel tax.",
    ]
    assert present.fresh_points(points, [first, "More text."]) == [points[1]]
    assert present.fresh_points(points, []) == points  # nothing to repeat


def test_hidden_stories_are_grouped_by_reason_each_with_one_undo() -> None:
    filtered = [
        *(Filtered(i, f"Match report {i}", "muted", "You muted Sport") for i in range(1, 513)),
        Filtered(600, "Ferry fined", "hidden", "You hid this story"),
        Filtered(601, "Windfarm approved", "hidden", "You hid this story"),
        Filtered(602, "Exports rise", "muted", "You muted The Guardian"),
        Filtered(700, "Budget passed", "read", "You already read this"),
    ]
    mutes = [("sport", "Sport"), ("source:The Guardian", "The Guardian"), ("golf", "Golf")]
    groups = present.group_hidden(filtered, mutes)
    by_title = {g.title: g for g in groups}

    sport = by_title["Muted topic: Sport"]
    assert sport.count == 512 and len(sport.examples) == present.EXAMPLES and sport.more == 509
    assert sport.undo == present.Undo("/unmute", {"topic": "sport"}, "Unmute Sport")
    guardian = by_title["Muted source: The Guardian"]
    assert guardian.undo and guardian.undo.fields == {"topic": "source:The Guardian"}
    assert by_title["Muted topic: Golf"].count == 0  # muted, with nothing to keep out now
    hid = by_title["You hid these stories"]
    assert hid.count == 2 and hid.undo and hid.undo.label == "Show all 2 again"
    assert by_title["You already read these"].undo is None
    assert groups[0].reason == "hidden"  # what the reader did by hand first
    assert sum(g.undo is not None for g in groups) == 4  # one per group that can be undone
