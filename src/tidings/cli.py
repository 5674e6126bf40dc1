"""The ``tidings`` command: a thin layer over :class:`tidings.library.Tidings`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tidings.errors import TidingsError
from tidings.library import IngestResult, Tidings
from tidings.models import Article

if TYPE_CHECKING:
    from tidings.understand.pipeline import UnderstandReport

app = typer.Typer(
    help="tidings — a personalised news feed of stories that matter to you.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
articles_app = typer.Typer(help="Look at stored articles.", no_args_is_help=True)
sources_app = typer.Typer(help="The feeds and sites you follow.", no_args_is_help=True)
app.add_typer(articles_app, name="articles")
app.add_typer(sources_app, name="sources")
evaluate_app = typer.Typer(help="Measure quality on labelled data.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")
stories_app = typer.Typer(help="One event across many outlets.", no_args_is_help=True)
app.add_typer(stories_app, name="stories")

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # messages stay whole lines for grep

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="TIDINGS_DATABASE_URL",
        help="Database URL (sqlite:///file.db, postgresql+psycopg://…) or a SQLite file path.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Understand = Annotated[
    bool,
    typer.Option(
        "--understand/--no-understand",
        help="Find entities, sections, key points and stories for the new articles.",
    ),
]


def _progress(description: str, *, quiet: bool) -> Progress:
    return Progress(
        TextColumn(f"[bold]{description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=quiet,
    )


def _understand(tidings: Tidings, *, everything: bool = False, quiet: bool) -> UnderstandReport:
    with _progress("Understanding articles", quiet=quiet) as progress:
        task = progress.add_task("understand", total=None)
        return tidings.understand(
            everything=everything,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )


def _open(db: str | None) -> Tidings:
    try:
        return Tidings(db)
    except Exception as exc:  # a wrong URL or an unreachable server: say which
        errors.print(f"[red]error:[/] cannot open the database {db or ''}: {exc}")
        raise typer.Exit(2) from exc


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


@contextmanager
def _reported() -> Iterator[None]:
    """Turn a library error (unknown id, bad input) into a clean message and exit code 1."""
    try:
        yield
    except TidingsError as exc:
        raise _fail(str(exc)) from exc


def _fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/] {escape(message)}")
    return typer.Exit(1)


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
    with _open(db) as tidings:
        results = _run_ingest(tidings, inputs, kind, quiet=as_json)
        if understand and any(r.added or r.updated for r in results):
            _understand(tidings, quiet=as_json)
    if as_json:
        for result in results:
            _print_json(result.to_dict())
    else:
        _print_ingest_summary(results)
    if any(r.status == "error" for r in results):
        raise typer.Exit(1)


def _run_ingest(
    tidings: Tidings, inputs: list[str], kind: str | None, *, quiet: bool
) -> list[IngestResult]:
    results: list[IngestResult] = []
    with _progress("Reading", quiet=quiet) as progress:
        task = progress.add_task("articles", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        for result in tidings.ingest(inputs, kind=kind, progress=on_progress):
            results.append(result)
            if result.status == "error" and not quiet:
                progress.console.print(f"[red]error:[/] {escape(result.error or '')}")
    return results


def _print_ingest_summary(results: list[IngestResult]) -> None:
    ok = [r for r in results if r.status == "ok"]
    added = sum(r.added for r in ok)
    updated = sum(r.updated for r in ok)
    unchanged = sum(r.unchanged for r in ok)
    failed = len(results) - len(ok)
    console.print(
        f"{len(ok)} of {len(results)} inputs read: [green]{added} added[/], "
        f"{updated} updated, {unchanged} unchanged"
        + (f", [red]{failed} failed[/]" if failed else "")
    )
    for result in ok:
        for warning in result.warnings:
            errors.print(f"[yellow]warning:[/] {escape(result.input)}: {escape(warning)}")


def _articles_table(items: list[Article], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("id", justify="right", style="cyan")
    table.add_column("published", no_wrap=True)
    table.add_column("source", max_width=24)
    table.add_column("title")
    table.add_column("topics", max_width=30, style="magenta")
    for article in items:
        table.add_row(
            str(article.id),
            article.published.strftime("%Y-%m-%d %H:%M") if article.published else "",
            escape(article.source or ""),
            escape(article.title),
            escape(_topic_summary(article)),
        )
    return table


def _topic_summary(article: Article, most: int = 5) -> str:
    """The first few topics (labels, section, most-mentioned entities) for a table cell."""
    names = [t.name for t in article.topics]
    more = f" +{len(names) - most}" if len(names) > most else ""
    return ", ".join(names[:most]) + more


@app.command()
def demo(understand: Understand = True, as_json: AsJson = False, db: Db = None) -> None:
    """Load the bundled demo corpus (English Wikinews) and list what is stored."""
    with _open(db) as tidings:
        with _progress("Loading the Wikinews demo corpus", quiet=as_json) as progress:
            task = progress.add_task("demo", total=None)
            result = tidings.load_demo(
                progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
        if result.status == "error":
            raise _fail(result.error or "the demo corpus could not be loaded")
        report = _understand(tidings, quiet=as_json) if understand else None
        latest = tidings.articles(limit=15)
        total = tidings.article_count()
        stories = tidings.story_count()
    if as_json:
        _print_json(
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
        f"{result.unchanged} unchanged. {total} articles and {stories} stories stored in all."
    )
    console.print(_articles_table(latest, "Newest stored articles"))
    console.print("See one with [bold]tidings articles show ID[/].")
    console.print(
        "Your own feed: [bold]tidings topics[/], then [bold]tidings readers add you "
        "--follow 'Barack Obama'[/] and [bold]tidings feed you[/]."
    )


@articles_app.command("list")
def articles_list(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    source: Annotated[str | None, typer.Option(help="Only this source's articles.")] = None,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """The newest stored articles."""
    with _open(db) as tidings:
        items = tidings.articles(limit=limit, offset=offset, source=source)
        total = tidings.article_count()
    if as_json:
        _print_json([a.to_dict() for a in items])
        return
    console.print(_articles_table(items, f"{len(items)} of {total} articles"))


@articles_app.command("show")
def articles_show(article_id: int, as_json: AsJson = False, db: Db = None) -> None:
    """One article, whole."""
    with _open(db) as tidings, _reported():
        article = tidings.article(article_id)
    if as_json:
        _print_json(article.to_dict())
        return
    _print_article(article)


def _print_article(article: Article) -> None:
    heading = [t for t in article.topics if t.kind in ("label", "section")]
    if heading:
        console.print("  ".join(f"[magenta]{escape(t.name)}[/]" for t in heading))
    console.print(f"[bold]{escape(article.title)}[/]")
    meta = [article.source, article.byline, article.published and article.published.isoformat()]
    console.print(escape(" · ".join(m for m in meta if m)), style="dim")
    if article.url:
        console.print(escape(article.url), style="blue")
    for point in article.key_points:
        console.print(f"  • {escape(point)}")
    if article.image and (article.image.caption or article.image.url):
        caption = article.image.caption or article.image.url or ""
        credit = f" (Photo: {article.image.credit})" if article.image.credit else ""
        console.print(f"[italic]{escape(caption + credit)}[/]")
    console.print()
    for paragraph in article.paragraphs:
        console.print(escape(paragraph))
        console.print()
    for media in article.media:
        minutes, seconds = divmod(media.duration_seconds or 0, 60)
        length = f" ({minutes}:{seconds:02d})" if media.duration_seconds else ""
        console.print(f"[cyan]{media.kind}:[/] {escape(media.title or media.url or '')}{length}")
    if article.entities:
        names = ", ".join(f"{e.name} ({e.kind})" for e in article.entities)
        console.print(f"[dim]About: {escape(names)}[/]")
    if article.story_id is not None:
        console.print(f"[dim]Story {article.story_id}: tidings stories show {article.story_id}[/]")


@sources_app.command("add")
def sources_add(
    url: str,
    title: Annotated[str | None, typer.Option(help="A name to show for it.")] = None,
    db: Db = None,
) -> None:
    """Follow a feed or site."""
    with _open(db) as tidings, _reported():
        source, new = tidings.add_source(url, title=title)
    console.print(f"{'Added' if new else 'Already following'} source {source.id}: {source.url}")


@sources_app.command("list")
def sources_list(as_json: AsJson = False, db: Db = None) -> None:
    """Every source you follow."""
    with _open(db) as tidings:
        items = tidings.sources()
    if as_json:
        _print_json([s.to_dict() for s in items])
        return
    table = Table(title=f"{len(items)} sources", title_justify="left")
    for column in ("id", "title", "url", "added", "last success"):
        table.add_column(column)
    table.add_column("last error", max_width=40, no_wrap=True, overflow="ellipsis")
    table.add_column("next poll")
    table.add_column("items/day", justify="right")
    table.add_column("full text")
    for s in items:
        h = s.health
        error = ""
        if h.last_error is not None:
            error = f"{_when(h.last_error)} {escape(h.error or '')}"
            error = f"[red]{error}[/]" if h.errors else f"[dim]{error}[/]"
        table.add_row(
            str(s.id),
            escape(s.title or ""),
            escape(s.url),
            s.added.strftime("%Y-%m-%d"),
            _when(h.last_success),
            error,
            _when(h.next_poll) if h.next_poll else "now",
            f"{h.items_per_day:.1f}" if h.items_per_day is not None else "",
            s.full_text,
        )
    console.print(table)


@sources_app.command("full-text")
def sources_full_text(
    id_or_url: str,
    mode: Annotated[
        str,
        typer.Argument(
            help="auto: fetch an entry's linked page when the feed gives only a summary; "
            "always: for every entry; never: keep what the feed gives."
        ),
    ],
    db: Db = None,
) -> None:
    """Choose whether polling fetches the pages a source's entries link to, for their full
    text."""
    with _open(db) as tidings, _reported():
        source = tidings.set_full_text(id_or_url, mode)
    console.print(f"Source {source.id} ({source.url}): full text {source.full_text}")


def _when(moment: datetime | None) -> str:
    """A time in the local zone: the hour alone if today, else the date and the hour."""
    if moment is None:
        return ""
    local = moment.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


@sources_app.command("remove")
def sources_remove(id_or_url: str, db: Db = None) -> None:
    """Stop following a source (its stored articles stay)."""
    with _open(db) as tidings, _reported():
        source = tidings.remove_source(id_or_url)
    console.print(f"Removed source {source.id}: {source.url}")


@sources_app.command("import")
def sources_import(path: Path, db: Db = None) -> None:
    """Follow every feed in an OPML file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(f"{path}: {exc.strerror or exc}") from exc
    with _open(db) as tidings, _reported():
        imported = tidings.import_opml(data, name=str(path))
    new = sum(1 for _, is_new in imported if is_new)
    console.print(f"{len(imported)} feeds in {path}: {new} new, {len(imported) - new} known")


@sources_app.command("export")
def sources_export(
    path: Annotated[Path | None, typer.Argument(help="File to write (default: stdout).")] = None,
    db: Db = None,
) -> None:
    """Write your sources as OPML, for any other feed reader."""
    with _open(db) as tidings:
        document = tidings.export_opml()
    if path is None:
        sys.stdout.write(document)
    else:
        path.write_text(document, encoding="utf-8")
        errors.print(f"Wrote {path}")


@app.command("understand")
def understand_command(
    everything: Annotated[
        bool, typer.Option("--all", help="Every article, not just new or changed ones.")
    ] = False,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Find entities, sections, embeddings, key points and stories for stored articles."""
    with _open(db) as tidings:
        report = _understand(tidings, everything=everything, quiet=as_json)
    if as_json:
        _print_json(report.to_dict())
        return
    rate = f" ({report.articles / report.seconds:.0f}/s)" if report.seconds else ""
    console.print(
        f"{report.articles} articles understood in {report.seconds:.1f} s{rate}: "
        f"{report.stories_started} new stories, {report.stories_joined} joined a story"
    )


@stories_app.command("list")
def stories_list(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    min_articles: Annotated[
        int, typer.Option(min=1, help="Only stories told by at least this many articles.")
    ] = 1,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """The newest stories."""
    with _open(db) as tidings:
        items = tidings.stories(limit=limit, offset=offset, min_articles=min_articles)
        total = tidings.story_count(min_articles=min_articles)
    if as_json:
        _print_json([s.to_dict() for s in items])
        return
    table = Table(title=f"{len(items)} of {total} stories", title_justify="left")
    table.add_column("id", justify="right", style="cyan")
    table.add_column("latest", no_wrap=True)
    table.add_column("headline")
    table.add_column("articles", justify="right")
    table.add_column("outlets", justify="right")
    for story in items:
        table.add_row(
            str(story.id),
            story.last_published.strftime("%Y-%m-%d %H:%M") if story.last_published else "",
            escape(story.headline),
            str(story.article_count),
            str(story.outlet_count),
        )
    console.print(table)


@stories_app.command("show")
def stories_show(story_id: int, as_json: AsJson = False, db: Db = None) -> None:
    """One story: its headline and every outlet's article on a timeline."""
    with _open(db) as tidings, _reported():
        story = tidings.story(story_id)
    if as_json:
        _print_json(story.to_dict())
        return
    console.print(f"[bold]{escape(story.headline)}[/]")
    console.print(f"{story.article_count} articles from {story.outlet_count} outlets", style="dim")
    for entry in story.timeline:
        when = entry.published.strftime("%Y-%m-%d %H:%M") if entry.published else "—"
        console.print(
            f"  {when}  [cyan]{escape(entry.source or '')}[/]  {escape(entry.title)}"
            f"  [dim](article {entry.article_id})[/]"
        )


@evaluate_app.command("stories")
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
        raise _fail(f"{pairs}: {exc}") from exc
    figures = {
        "pearson": round(report.pearson, 4),
        "f1": round(report.f1, 4),
        "threshold": report.threshold,
        "pairs": report.pairs,
    }
    if as_json:
        _print_json(figures)
        return
    for name, value in figures.items():
        console.print(f"{name}: {value}")


@evaluate_app.command("pages")
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
        raise _fail(f"{pages_dir}: no expected.json in this folder")
    parse = extraction.parse_page_as_capture if as_captures else extraction.parse_page
    with Progress(
        TextColumn("[bold]Extracting"), BarColumn(), MofNCompleteColumn(), console=errors,
        transient=True, disable=as_json,
    ) as progress:  # fmt: skip
        task = progress.add_task("pages", total=None)
        report = extraction.evaluate_pages(
            pages_dir,
            parse,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if as_json:
        _print_json(
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


@evaluate_app.command("mind")
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
    from tidings.evaluate import mind

    if kind not in ("lightgbm", "logistic"):
        raise _fail(f"{kind}: the scorer kind must be lightgbm or logistic")
    with errors.status("Replaying MIND impressions", spinner="dots") as status:
        try:
            result = mind.evaluate_mind(
                test_dir,
                train_dir=train,
                seed=seed,
                kind=kind,  # type: ignore[arg-type]
                progress=None if as_json else lambda stage: status.update(stage),
            )
        except (OSError, ValueError, TidingsError) as exc:
            raise _fail(str(exc)) from exc
    mind.write_report(result, report)
    mind.write_chart(result, chart)
    if as_json:
        _print_json(result.to_dict()["methods"])
        return
    console.print(mind.rich_table(result))
    for note in result.to_dict().get("notes", []):
        console.print(f"[dim]{escape(str(note))}[/]")
    console.print(f"Report: {report}  Chart: {chart}")


def main() -> None:
    app()


# The personal feed's and the server's commands live in their own modules and register on
# `app`.
from tidings import cli_poll, cli_readers, cli_serve  # noqa: E402, F401
