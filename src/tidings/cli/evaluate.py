"""``tidings evaluate …``: measure quality on labelled data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.status import Status

from tidings.cli.common import AsJson, console, errors, fail, meter, print_json
from tidings.errors import TidingsError

app = typer.Typer(help="Measure quality on labelled data.", no_args_is_help=True)


@app.command("stories")
def evaluate_stories(
    pairs: Annotated[Path, typer.Argument(help="A CSV in the SemEval-2022 Task 8 layout.")],
    as_json: AsJson = False,
) -> None:
    """How well tidings tells same-story pairs from others, at its own grouping threshold."""
    from tidings.evaluate.stories import evaluate_pairs

    try:
        # A user's own file is scored whole; the held-out half is only for our own gate.
        report = evaluate_pairs(pairs, subset="all")
    except (OSError, ValueError, TidingsError) as exc:
        raise fail(f"{pairs}: {exc}") from exc
    figures = {
        "pearson": round(report.pearson, 4),
        "f1": round(report.f1, 4),
        "threshold": report.threshold,
        "pairs": report.pairs,
    }
    if as_json:
        print_json(figures)
        return
    for name, value in figures.items():
        console.print(f"{name}: {value}")


@app.command("pages")
def evaluate_pages(
    pages_dir: Annotated[
        Path, typer.Argument(help="A folder with expected.json and html/ (trafilatura's layout).")
    ],
    as_captures: Annotated[
        bool, typer.Option("--as-captures", help="Render each page to text; read it as a capture.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """How much of each page's main text is found, and how much furniture kept out."""
    from tidings.evaluate import extraction

    if not (pages_dir / "expected.json").is_file():
        raise fail(f"{pages_dir}: no expected.json in this folder")
    parse = extraction.parse_page_as_capture if as_captures else extraction.parse_page
    with meter("Extracting", quiet=as_json) as progress:
        report = extraction.evaluate_pages(pages_dir, parse, progress=progress)
    if as_json:
        print_json(
            {
                "pages": report.pages,
                "passed": report.passed,
                "pass_rate": round(report.pass_rate, 4),
                "with_found": report.with_found,
                "with_total": report.with_total,
                "without_absent": report.without_absent,
                "without_total": report.without_total,
            }
        )
        return
    for failure in report.failures:
        problems = [f"missing {s!r}" for s in failure.missing]
        problems += [f"unwanted {s!r}" for s in failure.unwanted]
        console.print(f"[yellow]{escape(failure.file)}[/]: {escape('; '.join(problems))}")
    console.print(report.summary())


@app.command("mind")
def evaluate_mind(
    test_dir: Annotated[
        Path,
        typer.Argument(help="A MIND folder: behaviors.tsv and news.tsv (impression_meta.tsv)."),
    ],
    train: Annotated[
        Path | None,
        typer.Option(
            "--train", help="A MIND train folder: learn from it, score every test impression."
        ),
    ] = None,
    kind: Annotated[str, typer.Option(help="lightgbm (LambdaRank) or logistic.")] = "lightgbm",
    seed: Annotated[int, typer.Option(help="Seed of the split and the random baseline.")] = 0,
    report: Annotated[Path, typer.Option(help="Where to write the JSON report.")] = Path(
        "mind-report.json"
    ),
    chart: Annotated[Path, typer.Option(help="Where to write the chart (PNG).")] = Path(
        "mind-report.png"
    ),
    as_json: AsJson = False,
) -> None:
    """Replay MIND click logs: AUC, MRR and nDCG of the ranker beside random, popularity
    and content-only baselines."""
    from tidings.evaluate import mind, mind_report

    if kind not in ("lightgbm", "logistic"):
        raise fail(f"{kind}: the scorer kind must be lightgbm or logistic")
    with errors.status("Replaying MIND impressions", spinner="dots") as status:
        try:
            result = mind.evaluate_mind(
                test_dir,
                train_dir=train,
                seed=seed,
                kind=kind,  # type: ignore[arg-type]
                progress=None if as_json else lambda stage: _stage(status, stage),
            )
        except (OSError, ValueError, TidingsError) as exc:
            raise fail(str(exc)) from exc
    mind_report.write_report(result, report)
    mind_report.write_chart(result, chart)
    if as_json:
        print_json(result.to_dict()["methods"])
        return
    console.print(mind_report.rich_table(result))
    for note in result.to_dict().get("notes", []):
        console.print(f"[dim]{escape(str(note))}[/]")
    console.print(f"Report: {report}  Chart: {chart}")


@app.command("search")
def evaluate_search(
    pairs: Annotated[Path, typer.Argument(help="A CSV in the SemEval-2022 Task 8 layout.")],
    all_languages: Annotated[
        bool,
        typer.Option(
            "--all-languages", help="Search every article of the file, not only the English."
        ),
    ] = False,
    max_overall: Annotated[
        float, typer.Option(help="Pairs rated at most this Overall (1 = same story) are queried.")
    ] = 1.5,
    as_json: AsJson = False,
) -> None:
    """How often search finds the other outlet's article of a same-story pair from one
    article's title: by words, by meaning, and both fused."""
    from tidings.evaluate import search

    with errors.status("Evaluating search", spinner="dots") as status:
        try:
            report = search.evaluate_search(
                pairs,
                languages="all" if all_languages else "en",
                max_overall=max_overall,
                progress=None if as_json else lambda stage: _stage(status, stage),
            )
        except (OSError, ValueError, KeyError, TidingsError) as exc:
            raise fail(f"{pairs}: {exc}") from exc
    if as_json:
        print_json(report.to_dict())
        return
    console.print(search.rich_table(report))
    seconds = ", ".join(f"{name} {value:.1f} s" for name, value in report.seconds.items())
    console.print(f"[dim]{escape(seconds)}[/]")


def _stage(status: Status, stage: str) -> None:
    """A new stage: the spinner's text on a terminal, a log line otherwise."""
    if errors.is_terminal:
        status.update(stage)
    else:
        errors.print(stage, highlight=False)
