"""``tidings stories list|show``: one event across many outlets."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tidings.cli.common import AsJson, Db, console, open_store, print_json, reported

app = typer.Typer(help="One event across many outlets.", no_args_is_help=True)


@app.command("list")
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
    with open_store(db) as tidings:
        items = tidings.stories(limit=limit, offset=offset, min_articles=min_articles)
        total = tidings.story_count(min_articles=min_articles)
    if as_json:
        print_json([s.to_dict() for s in items])
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


@app.command("show")
def stories_show(story_id: int, as_json: AsJson = False, db: Db = None) -> None:
    """One story: its headline and every outlet's article on a timeline."""
    with open_store(db) as tidings, reported():
        story = tidings.story(story_id)
    if as_json:
        print_json(story.to_dict())
        return
    console.print(f"[bold]{escape(story.headline)}[/]")
    console.print(f"{story.article_count} articles from {story.outlet_count} outlets", style="dim")
    for entry in story.timeline:
        when = entry.published.strftime("%Y-%m-%d %H:%M") if entry.published else "—"
        console.print(
            f"  {when}  [cyan]{escape(entry.source or '')}[/]  {escape(entry.title)}"
            f"  [dim](article {entry.article_id})[/]"
        )
