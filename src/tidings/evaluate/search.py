"""How well search finds the same story told by another outlet, on SemEval-2022 Task 8 pairs.

Each SemEval pair is two real articles with a human rating, ``Overall`` 1 (same story) to 4
(unrelated). For every English–English pair rated ``Overall ≤ 1.5`` (nearly all raters said
"same story"), search is asked for one article's title, in both directions, among every
distinct English article of the file (the query's own article left out), and scored by where
the other article lands: recall@10 (in the first ten) and the mean reciprocal rank (0 when
beyond the first :data:`DEPTH`). The three ways search can match are scored apart: words
alone (the full-text index), meaning alone (MiniLM embeddings), and the two fused.

Why English only: search's embeddings are English, and embedding the 2,502 distinct articles
of all languages took 114 s on two cores against 11 s for the 596 English ones (measured one
after the other); the quality gate must stay near a minute. ``tidings evaluate search
--all-languages`` runs the larger corpus (the other languages only add distractors).

The texts carry no separate title field: 250 of the 596 distinct English texts put the title
on a first line of its own; the other 346 run title and body together on one line. A query is
the title when it has a line of its own, else the text's first :data:`QUERY_WORDS` words
(the median length of the separate titles), so some queries carry a few words of lead. The
corpus stores each text as the product would: a first line of its own as the title, else
no title (the product then shows the start of the text as one).

The corpus goes into a real store through the library (one JSON Lines input), and each
article's embedding is computed from what understanding would embed
(:func:`tidings.understand.embeddings.article_text`) and stored as understanding stores it,
without the entity and section models search does not read (understanding the 596 articles
whole took 26 s against 11 s for their embeddings alone).
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import insert, update

from tidings.evaluate import share
from tidings.library import Tidings
from tidings.models import Document

Mode = Literal["words", "meaning", "fused"]
MODES: tuple[Mode, ...] = ("words", "meaning", "fused")

#: Pairs rated at most this ``Overall`` are "the same story" here (1 = same … 4 = unrelated).
MAX_OVERALL = 1.5
#: Ranks looked at per query: the other article further down counts 0 in the MRR.
DEPTH = 100
#: Recall is counted in the first this many results (a page of search results).
RECALL_AT = 10
#: A query from a text without a title line of its own: its first this many words.
QUERY_WORDS = 10
#: A first line longer than this is not a title (as in tidings.evaluate.stories).
MAX_TITLE_CHARS = 300

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class PairArticle:
    """One distinct article of the SemEval file."""

    key: str  # sha1 of the text: the same text in several pairs is one article
    language: str
    title: str  # "" when the text has no title line of its own
    body: str

    @property
    def query(self) -> str:
        """What a reader looking for this story would type: its title, else its opening."""
        return self.title or " ".join(self.body.split()[:QUERY_WORDS])


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One query: ``own``'s title, looking for ``wanted`` (the other article of a pair)."""

    pair_id: str
    overall: float
    own: str  # article keys
    wanted: str
    text: str
    titled: bool  # the query is a real title (not the opening words of a one-line text)


@dataclass(frozen=True, slots=True)
class ModeScore:
    """How one way of matching did over every query."""

    mode: Mode
    queries: int
    found_at_1: int
    found_at_10: int
    found: int  # anywhere in the first DEPTH
    mrr: float
    titled_found_at_10: int  # of the queries that are real titles
    titled: int
    mean_ms: float  # per query, ranking the whole corpus

    @property
    def recall_at_1(self) -> float:
        return share(self.found_at_1, self.queries)

    @property
    def recall_at_10(self) -> float:
        return share(self.found_at_10, self.queries)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "queries": self.queries,
            "recall_at_1": round(self.recall_at_1, 4),
            "recall_at_10": round(self.recall_at_10, 4),
            f"found_in_{DEPTH}": self.found,
            f"mrr_at_{DEPTH}": round(self.mrr, 4),
            "titled_recall_at_10": round(share(self.titled_found_at_10, self.titled), 4),
            "titled_queries": self.titled,
            "mean_ms": round(self.mean_ms, 1),
        }


@dataclass(slots=True)
class SearchReport:
    """Search quality on the SemEval pairs, one score per way of matching."""

    corpus: int  # distinct articles searched
    languages: str  # "en" or "all"
    pairs: int  # pairs rated Overall ≤ max_overall
    max_overall: float
    scores: list[ModeScore] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # ingest, embed, queries

    def score(self, mode: Mode) -> ModeScore:
        return next(s for s in self.scores if s.mode == mode)

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "languages": self.languages,
            "pairs": self.pairs,
            "max_overall": self.max_overall,
            "recall_at": RECALL_AT,
            "depth": DEPTH,
            "modes": [s.to_dict() for s in self.scores],
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
        }


# --- the data --------------------------------------------------------------------------------


def split_title(text: str) -> tuple[str, str]:
    """``(title, body)`` of a SemEval text: its first line when that line stands alone and
    is short enough to be one, else no title."""
    first, newline, rest = text.partition("\n")
    if newline and rest.strip() and len(first.strip()) <= MAX_TITLE_CHARS:
        return " ".join(first.split()), rest
    return "", text


def read_pairs(
    csv_path: Path, *, languages: Literal["en", "all"] = "en", max_overall: float = MAX_OVERALL
) -> tuple[dict[str, PairArticle], list[SearchQuery], int]:
    """The corpus (every distinct article of the file, in ``languages``), the queries (both
    directions of each English–English pair rated ``Overall ≤ max_overall``) and how many
    such pairs there are."""
    corpus: dict[str, PairArticle] = {}
    queries: dict[tuple[str, str], SearchQuery] = {}
    pairs = 0
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            keys = []
            for text, language in ((row["text1"], row["lang1"]), (row["text2"], row["lang2"])):
                key = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
                keys.append(key)
                if (languages == "all" or language == "en") and key not in corpus:
                    title, body = split_title(text)
                    corpus[key] = PairArticle(key, language, title, body)
            english = row["lang1"] == row["lang2"] == "en"
            if not english or float(row["Overall"]) > max_overall or keys[0] == keys[1]:
                continue
            pairs += 1
            for own, wanted in (keys, keys[::-1]):
                article = corpus[own]
                queries.setdefault(
                    (own, wanted),
                    SearchQuery(
                        pair_id=row["pair_id"],
                        overall=float(row["Overall"]),
                        own=own,
                        wanted=wanted,
                        text=article.query,
                        titled=bool(article.title),
                    ),
                )
    return corpus, list(queries.values()), pairs


def corpus_document(articles: Sequence[PairArticle]) -> Document:
    """The articles as one JSON Lines input, each under its key (no URL: the text is all)."""
    lines = [
        json.dumps(
            {"id": a.key, "title": a.title, "text": a.body, "language": a.language},
            ensure_ascii=False,
        )
        for a in articles
    ]
    return Document(name="semeval2022_train.jsonl", data="\n".join(lines).encode("utf-8"))


# --- the store -------------------------------------------------------------------------------


def store_corpus(tidings: Tidings, articles: Sequence[PairArticle]) -> dict[str, int]:
    """Ingest the articles through the library; their store ids by key."""
    result = tidings.ingest_document(corpus_document(articles), kind="jsonl")
    if result.status != "ok" or len(result.articles) != len(articles):
        raise ValueError(f"the corpus did not go in whole: {result.error or result.warnings}")
    return {a.key: article_id for a, article_id in zip(articles, result.articles, strict=True)}


def store_embeddings(tidings: Tidings, ids: Sequence[int], *, batch: int = 64) -> None:
    """Embed each article as understanding would (title and lead, in the pipeline's batches)
    and store the vectors as understanding stores them, marking the articles understood."""
    import numpy as np

    from tidings.store.schema import article_embeddings, articles
    from tidings.understand.embeddings import article_text, default_embedder
    from tidings.understand.pipeline import BATCH_SIZE

    embedder = default_embedder()
    batch = batch or BATCH_SIZE
    now = datetime.now(UTC)
    for start in range(0, len(ids), batch):
        chunk = [tidings.article(i) for i in ids[start : start + batch]]
        vectors = embedder.embed([article_text(a.title, a.paragraphs) for a in chunk])
        with tidings.engine.begin() as connection:
            connection.execute(
                insert(article_embeddings),
                [
                    {
                        "article_id": a.id,
                        "model": embedder.name,
                        "vector": np.asarray(v, dtype="<f4").tobytes(),
                    }
                    for a, v in zip(chunk, vectors, strict=True)
                ],
            )
            connection.execute(
                update(articles)
                .where(articles.c.id.in_([a.id for a in chunk]))
                .values(understood_at=now)
            )


@contextmanager
def corpus_store(
    articles: Sequence[PairArticle], *, folder: Path | None = None
) -> Iterator[tuple[Tidings, dict[str, int], dict[str, float]]]:
    """A temporary SQLite store holding ``articles`` and their embeddings: the store, the
    ids by key, and the seconds each step took."""
    with tempfile.TemporaryDirectory(dir=folder, prefix="tidings-search-eval-") as tmp:
        seconds: dict[str, float] = {}
        with Tidings(f"sqlite:///{Path(tmp) / 'search.db'}") as tidings:
            started = time.perf_counter()
            ids = store_corpus(tidings, articles)
            seconds["ingest"] = time.perf_counter() - started
            started = time.perf_counter()
            store_embeddings(tidings, list(ids.values()))
            seconds["embed"] = time.perf_counter() - started
            yield tidings, ids, seconds


# --- scoring ---------------------------------------------------------------------------------


def rank_of(ranked: Sequence[int], wanted: int, own: int) -> int | None:
    """The 1-based rank of ``wanted`` in ``ranked`` with ``own`` (the query's article) left
    out; None when it is not among the first :data:`DEPTH`."""
    kept = [i for i in ranked if i != own][:DEPTH]
    return kept.index(wanted) + 1 if wanted in kept else None


def score_mode(
    mode: Mode, queries: Sequence[SearchQuery], ids: dict[str, int], rank: Callable[..., Any]
) -> ModeScore:
    """Ask ``rank`` (a :meth:`Searcher.rank_articles`) every query in one way of matching."""
    ranks: list[int | None] = []
    started = time.perf_counter()
    for query in queries:
        ranked = [i for i, _ in rank(query.text, mode=mode, limit=DEPTH + 1)]
        ranks.append(rank_of(ranked, ids[query.wanted], ids[query.own]))
    elapsed = time.perf_counter() - started
    titled = [r for r, q in zip(ranks, queries, strict=True) if q.titled]
    return ModeScore(
        mode=mode,
        queries=len(queries),
        found_at_1=sum(r == 1 for r in ranks),
        found_at_10=sum(r is not None and r <= RECALL_AT for r in ranks),
        found=sum(r is not None for r in ranks),
        mrr=share(sum(1 / r for r in ranks if r is not None), len(ranks)) if ranks else 0.0,
        titled_found_at_10=sum(r is not None and r <= RECALL_AT for r in titled),
        titled=len(titled),
        mean_ms=1000 * elapsed / max(len(queries), 1),
    )


def evaluate_search(
    csv_path: Path,
    *,
    languages: Literal["en", "all"] = "en",
    max_overall: float = MAX_OVERALL,
    modes: Sequence[Mode] = MODES,
    progress: Progress | None = None,
) -> SearchReport:
    """Score search's ways of matching on the SemEval pairs in ``csv_path`` (see the module
    docstring for the method)."""
    from tidings.search import Searcher

    corpus, queries, pairs = read_pairs(csv_path, languages=languages, max_overall=max_overall)
    if not queries:
        raise ValueError(f"no English–English pairs rated Overall ≤ {max_overall} in this file")
    report = SearchReport(
        corpus=len(corpus), languages=languages, pairs=pairs, max_overall=max_overall
    )
    if progress:
        progress(f"Storing and embedding {len(corpus):,} articles")
    with corpus_store(list(corpus.values())) as (tidings, ids, seconds):
        report.seconds.update(seconds)
        searcher = Searcher(tidings.engine)
        for mode in modes:
            if progress:
                progress(f"Searching {len(queries)} titles by {mode}")
            started = time.perf_counter()
            report.scores.append(score_mode(mode, queries, ids, searcher.rank_articles))
            report.seconds[f"search {mode}"] = time.perf_counter() - started
    return report


def rich_table(report: SearchReport) -> Any:
    """The scores as a rich Table, one row per way of matching."""
    from rich.table import Table

    table = Table(
        title=(
            f"Search on SemEval-2022 pairs: {report.corpus:,} articles "
            f"({'English' if report.languages == 'en' else 'all languages'}), "
            f"{report.scores[0].queries if report.scores else 0} title queries from "
            f"{report.pairs} same-story pairs (Overall ≤ {report.max_overall:g})"
        )
    )
    table.add_column("matching")
    table.add_column(f"recall@{RECALL_AT}", justify="right")
    table.add_column("recall@1", justify="right")
    table.add_column(f"MRR@{DEPTH}", justify="right")
    table.add_column(f"found in {DEPTH}", justify="right")
    table.add_column(f"recall@{RECALL_AT}, real titles", justify="right")
    table.add_column("ms/query", justify="right")
    for s in report.scores:
        table.add_row(
            s.mode,
            f"{s.recall_at_10:.3f}",
            f"{s.recall_at_1:.3f}",
            f"{s.mrr:.3f}",
            f"{s.found}/{s.queries}",
            f"{share(s.titled_found_at_10, s.titled):.3f} ({s.titled})",
            f"{s.mean_ms:.1f}",
        )
    return table
