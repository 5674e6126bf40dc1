"""The ranker's pure parts: a reader's state from their events, diversity, and reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tidings.rank import diversity, profile, reasons
from tidings.rank.features import FEATURES, Candidates, Profile, features, topic_key
from tidings.rank.scorer import PRIOR, fit, from_dict
from tidings.rank.signals import Event, Kind

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_later_choices_win_and_nothing_is_forgotten() -> None:
    state = profile.fold(
        [
            Event(Kind.FOLLOW, at(0), target="north-korea"),
            Event(Kind.MUTE, at(1), target="north-korea"),  # mute replaces the follow
            Event(Kind.FOLLOW, at(2), target="kim-jong-un"),
            Event(Kind.HIDE, at(3), story_id=7),
            Event(Kind.HIDE, at(4), story_id=8),
            Event(Kind.UNHIDE, at(5), story_id=8),
            Event(Kind.OPEN, at(6), article_id=70, story_id=9),
            Event(Kind.IMPRESSION, at(7), story_id=10),
            Event(Kind.IMPRESSION, at(8), story_id=10),
        ]
    )
    assert state.followed == {"kim-jong-un"}
    assert state.muted == {"north-korea"}
    assert set(state.hidden) == {7}
    assert set(state.read_stories) == {9}
    assert state.seen[10] == 2


def test_a_long_read_counts_more_than_a_glance() -> None:
    state = profile.fold(
        [
            Event(Kind.OPEN, at(0), article_id=1, story_id=1),
            Event(Kind.DWELL, at(1), article_id=1, story_id=1, value=120),
            Event(Kind.OPEN, at(2), article_id=2, story_id=2),
            Event(Kind.DWELL, at(3), article_id=2, story_id=2, value=3),
        ]
    )
    assert state.interest[1][0] > state.interest[2][0]


def test_labels_and_entities_of_one_name_are_one_topic() -> None:
    assert topic_key("label:north-korea") == topic_key("entity:north-korea") == "north-korea"


def _candidates(vectors: np.ndarray, topics: list[set[str]]) -> Candidates:
    k = len(vectors)
    return Candidates(
        ids=list(range(k)),
        vectors=vectors.astype(np.float32),
        topics=[frozenset(t) for t in topics],
        sources=[None] * k,
        age_hours=np.full(k, 5.0),
        clicks=np.zeros(k),
        impressions=np.zeros(k),
        outlets=np.ones(k),
    )


def test_a_followed_topic_outranks_an_otherwise_equal_story_and_is_the_reason() -> None:
    candidates = _candidates(np.eye(2), [{"north-korea"}, {"football"}])
    reader = Profile(followed=frozenset({"north-korea"}))
    matrix = features(reader, candidates)
    scores = PRIOR.score(matrix)
    assert scores[0] > scores[1]
    reason = reasons.explain(
        PRIOR.contributions(matrix)[0], matrix[0], reasons.Evidence(followed="North Korea")
    )
    assert reason.text == "You follow North Korea"


def test_fewer_like_this_pushes_similar_stories_down() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]])
    candidates = _candidates(vectors, [set(), set()])
    neutral = PRIOR.score(features(Profile(), candidates))
    fewer = Profile(fewer_like=np.array([[1.0, 0.0]], dtype=np.float32))
    scores = PRIOR.score(features(fewer, candidates))
    assert neutral[0] == neutral[1]
    assert scores[0] < scores[1]


def test_a_page_is_never_all_one_topic() -> None:
    # Twelve near-identical stories on one topic outscore six on others.
    rng = np.random.default_rng(0)
    same = np.tile([1.0, 0.0, 0.0], (12, 1)) + rng.normal(0, 0.01, (12, 3))
    other = rng.normal(0, 1, (6, 3))
    vectors = np.vstack([same, other])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = np.array([10.0 - i * 0.01 for i in range(12)] + [5.0] * 6)
    primary = ["brexit"] * 12 + [f"t{i}" for i in range(6)]
    order = diversity.diversify(scores, vectors, primary, 9)
    assert len(order) == 9 and len(set(order)) == 9
    assert sum(primary[i] == "brexit" for i in order) == diversity.PER_TOPIC
    assert order[0] == 0  # the best story still leads
    # when nothing else is left, the capped topic fills the page rather than leaving it short
    assert len(diversity.diversify(scores, vectors, primary, 18)) == 18


def test_a_learned_scorer_survives_saving_and_loading() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.random((400, len(FEATURES))).astype(np.float32)
    labels = (matrix[:, FEATURES.index("ctr")] > 0.7).astype(int)
    for kind in ("logistic", "lightgbm"):
        scorer = fit(matrix, labels, [10] * 40, kind=kind)
        again = from_dict(scorer.to_dict())
        assert np.allclose(scorer.score(matrix), again.score(matrix))
        # it learned which feature matters
        importance = np.abs(scorer.contributions(matrix)).mean(axis=0)
        assert int(np.argmax(importance)) == FEATURES.index("ctr")


def test_only_impressions_from_before_this_visit_and_within_a_week_count_as_seen() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    shown = [
        (now - timedelta(minutes=5), 1),  # this visit: the page should stay in place
        (now - timedelta(hours=2), 2),  # an earlier visit
        (now - timedelta(hours=3), 2),
        (now - timedelta(days=8), 3),  # too long ago to hold against it
    ]
    assert profile.seen_before_visit(shown, now) == {2: 2}


def test_a_screen_is_never_all_one_section() -> None:
    k = 20
    scores = np.linspace(2.0, 1.0, k)  # the twelve best are all sport
    sections = ["sport"] * 12 + ["politics", "business", "science", "health"] * 2
    primary = [f"topic {i}" for i in range(k)]  # no topic cap in the way
    vectors = np.eye(k, dtype=np.float32)
    order = diversity.diversify(scores, vectors, primary, 10, sections=sections)
    screen = [sections[i] for i in order]
    assert screen.count("sport") == diversity.PER_SECTION
    assert len(set(screen)) >= 4
    # with nothing else left, the rest still comes (the cap only waits, never drops)
    everything = diversity.diversify(scores, vectors, primary, k, sections=sections)
    assert sorted(everything) == list(range(k))


def test_a_page_varies_its_reasons_where_another_true_one_exists() -> None:
    follow = reasons.Reason("followed", "You follow Sport")
    told = reasons.Reason("outlets", "Told by 4 outlets")
    page = reasons.vary([[follow, told]] * 4 + [[follow]])
    texts = [r.text for r in page]
    assert texts[:2] == ["You follow Sport"] * 2  # the best reason first
    assert texts[2:4] == ["Told by 4 outlets"] * 2  # then another true one
    assert texts[4] == "You follow Sport"  # an item with no other reason keeps its own
