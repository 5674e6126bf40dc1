"""``tidings ingest|demo|understand``: getting articles in, and understanding them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from tidings.cli.common import (
    AsJson,
    Db,
    Understand,
    articles_table,
    console,
    errors,
    fail,
    meter,
    open_store,
    print_json,
    run_understand,
)
from tidings.library import DemoLoad, IngestResult, Tidings

app = typer.Typer()


@app.command()
def ingest(
    inputs: Annotated[list[str], typer.Argument(help="Files, folders or URLs.")],
    kind: Annotated[
        str | None,
        typer.Option(help="Skip detection: feed, jsonfeed, page, capture, jsonl or mind."),
    ] = None,
    understand: Understand = True,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Read feeds, web pages, page captures and bulk files into the store.

    The exit code is 1 if any input failed; the other inputs still go in.
    """
    skipped: list[tuple[str, str]] = []
    with open_store(db) as tidings:
        results = _run_ingest(tidings, inputs, kind, skipped, quiet=as_json)
        if understand and any(r.added or r.updated for r in results):
            run_understand(tidings, quiet=as_json)
    if as_json:
        for result in results:
            print_json(result.to_dict())
    else:
        _print_ingest_summary(results, skipped)
    if any(r.status == "error" for r in results):
        raise typer.Exit(1)


def _run_ingest(
    tidings: Tidings,
    inputs: list[str],
    kind: str | None,
    skipped: list[tuple[str, str]],
    *,
    quiet: bool,
) -> list[IngestResult]:
    results: list[IngestResult] = []
    with meter("Reading", quiet=quiet) as progress:

        def on_skip(name: str, why: str) -> None:
            skipped.append((name, why))

        found = tidings.ingest(inputs, kind=kind, progress=progress, skipped=on_skip)
        for result in found:
            results.append(result)
            if result.status == "error" and not quiet:
                progress.print(f"[red]error:[/] {escape(result.error or '')}")
    return results


def _print_ingest_summary(results: list[IngestResult], skipped: list[tuple[str, str]]) -> None:
    ok = [r for r in results if r.status == "ok"]
    added = sum(r.added for r in ok)
    updated = sum(r.updated for r in ok)
    unchanged = sum(r.unchanged for r in ok)
    failed = len(results) - len(ok)
    console.print(
        f"{len(ok)} of {len(results)} inputs read: [green]{added} added[/], "
        f"{updated} updated, {unchanged} unchanged"
        + (f", [red]{failed} failed[/]" if failed else "")
        + (f"; {len(skipped)} not news, skipped" if skipped else "")
    )
    for name, why in skipped:
        errors.print(f"[dim]skipped:[/] {escape(name)}: {escape(why)}")
    for result in ok:
        for warning in result.warnings:
            errors.print(f"[yellow]warning:[/] {escape(result.input)}: {escape(warning)}")


@app.command()
def demo(understand: Understand = True, as_json: AsJson = False, db: Db = None) -> None:
    """Load the bundled demo corpus (Wikinews articles and multi-outlet headlines) and list
    what is stored."""
    with open_store(db) as tidings:
        result = load_demo(tidings, understand=understand, quiet=as_json)
        report = run_understand(tidings, quiet=as_json) if understand else None
        latest = tidings.articles(limit=15)
        total = tidings.article_count()
        stories = tidings.story_count()
    if as_json:
        print_json(
            {
                "ingest": result.to_dict(),
                "understand": report.to_dict() if report else None,
                "stored": total,
                "stories": stories,
            }
        )
        return
    console.print(
        f"Demo corpus: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged ({result.understood} understood from the pack). "
        f"{total} articles and {stories} stories stored in all."
    )
    console.print(articles_table(latest, "Newest stored articles"))
    console.print("See one with [bold]tidings articles show ID[/].")
    console.print(
        "Your own feed: [bold]tidings topics[/], then [bold]tidings readers add you "
        "--follow 'Barack Obama'[/] and [bold]tidings feed you[/]."
    )


def load_demo(tidings: Tidings, *, understand: bool, quiet: bool) -> DemoLoad:
    """The demo corpus into the store with progress, then (``understand``) what the pack
    knows about it; exits with the reason if a part could not be read."""
    with meter("Loading the demo corpus", quiet=quiet) as progress:
        result = tidings.load_demo(progress=progress, understood=False)
    if result.error:
        raise fail(result.error)
    if understand:
        with meter("Adding what the demo pack understood", quiet=quiet) as progress:
            result.understood = tidings.understand_demo(progress=progress)
    return result


@app.command("understand")
def understand_command(
    everything: Annotated[
        bool, typer.Option("--all", help="Every article, not just new or changed ones.")
    ] = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", help="Keep understanding new articles as they come (as tidings work)."
        ),
    ] = False,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Find entities, sections, embeddings, key points and stories for stored articles."""
    if follow and everything:
        raise typer.BadParameter("--follow takes new and changed articles, not --all")
    with open_store(db) as tidings:
        if follow:
            from tidings.cli.work import follow as keep_understanding

            keep_understanding(tidings, as_json=as_json)
            return
        report = run_understand(tidings, everything=everything, quiet=as_json)
    if as_json:
        print_json(report.to_dict())
        return
    rate = f" ({report.articles / report.seconds:.0f}/s)" if report.seconds else ""
    console.print(
        f"{report.articles} articles understood in {report.seconds:.1f} s{rate}: "
        f"{report.stories_started} new stories, {report.stories_joined} joined a story"
    )
