"""``tidings articles list|show``: look at stored articles."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from tidings.cli.common import (
    AsJson,
    Db,
    articles_table,
    console,
    open_store,
    print_json,
    reported,
)
from tidings.models import Article

app = typer.Typer(help="Look at stored articles.", no_args_is_help=True)


@app.command("list")
def articles_list(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    source: Annotated[str | None, typer.Option(help="Only this source's articles.")] = None,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """The newest stored articles."""
    with open_store(db) as tidings:
        items = tidings.articles(limit=limit, offset=offset, source=source)
        total = tidings.article_count()
    if as_json:
        print_json([a.to_dict() for a in items])
        return
    console.print(articles_table(items, f"{len(items)} of {total} articles"))


@app.command("show")
def articles_show(article_id: int, as_json: AsJson = False, db: Db = None) -> None:
    """One article, whole."""
    with open_store(db) as tidings, reported():
        article = tidings.article(article_id)
    if as_json:
        print_json(article.to_dict())
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
