"""``tidings search`` and ``tidings searches follow|unfollow|list``: find stories by words
and meaning from the terminal, and keep a search as something a reader follows.

Saved searches sit in a group of their own, reader first as in ``tidings follow READER …``,
because a search is not a topic: it has an id to unfollow it by and an Atom feed of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from tidings import config
from tidings.cli.common import AsJson, Db, console, local_time, open_store, print_json, reported
from tidings.cli.readers import ReaderName

if TYPE_CHECKING:
    from tidings.search import SearchHit, SearchPage

app = typer.Typer()
searches = typer.Typer(
    help="Searches a reader follows: matches rise in their feed.", no_args_is_help=True
)
app.add_typer(searches, name="searches")

Query = Annotated[
    str,
    typer.Argument(
        help='Words (any of them), "a phrase" (required), -word (excluded), source:NAME, '
        "topic:NAME, section:NAME, before:YYYY-MM-DD, after:YYYY-MM-DD."
    ),
]
MATCH_STYLE = "bold black on yellow"
# A query may open with an excluded word ("-rumour budget"): an argument, not an option.
QUERY_FIRST = {"ignore_unknown_options": True}


@app.command(context_settings=QUERY_FIRST)
def search(
    query: Query,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    reader: Annotated[
        str | None, typer.Option(help="Rank for this reader (what they follow and read).")
    ] = None,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the page before.")] = None,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Stories whose articles match a query, best first, each with the words it matched."""
    with open_store(db) as tidings, reported():
        page = tidings.search(query, reader=reader, limit=limit, cursor=cursor)
    if as_json:
        print_json(page.to_dict())
        return
    _print_page(page)


def highlighted(snippet: str, highlights: tuple[tuple[int, int], ...]) -> Text:
    """The snippet with its matched words styled. A :class:`Text` is never parsed as
    markup, so brackets in an article stay as they are."""
    text = Text(snippet)
    for start, end in highlights:
        if 0 <= start < end <= len(snippet):
            text.stylize(MATCH_STYLE, start, end)
    return text


def _story_cell(hit: SearchHit) -> Text:
    """The headline, the article shown when its title differs, then the snippet."""
    cell = Text(hit.headline or hit.article.title, style="bold")
    if hit.article.title and hit.article.title != hit.headline:
        cell.append("\n" + hit.article.title, style="italic")
    if hit.snippet:
        cell.append("\n")
        cell.append_text(highlighted(hit.snippet, hit.highlights))
    return cell


def _source_cell(hit: SearchHit) -> Text:
    """The outlet of the article shown, and how many more told the story."""
    cell = Text(hit.article.source or "")
    if hit.outlets > 1:
        if cell:
            cell.append("\n")
        cell.append(f"+{hit.outlets - 1} outlets", style="dim")
    return cell


def _print_page(page: SearchPage) -> None:
    if not page.hits:
        console.print(Text(f"No stories match {page.query!r}."))
        return
    table = Table(title=Text(f"Stories matching {page.query!r}"), title_justify="left")
    table.add_column("#", justify="right", style="cyan")
    table.add_column("story", justify="right", style="cyan")
    table.add_column("headline")
    sourced = any(hit.article.source or hit.outlets > 1 for hit in page.hits)
    if sourced:  # page captures and bare pages name no outlet: no empty column for them
        table.add_column("source", max_width=22)
    table.add_column("why", max_width=28, style="green")
    for hit in page.hits:
        story = "" if hit.story_id is None else str(hit.story_id)
        source = [_source_cell(hit)] if sourced else []
        table.add_row(str(hit.rank), story, _story_cell(hit), *source, Text(hit.reason.text))
    console.print(table)
    if page.next_cursor:
        console.print(f"[dim]next page: --cursor {page.next_cursor}[/]")


def _feed_url(token: str, search_id: str) -> str:
    """A saved search's private Atom feed on the server's public address
    (``TIDINGS_BASE_URL``), the same URL the API's ``feed_url`` gives."""
    return f"{config.base_url()}/feeds/{token}/search/{search_id}.atom"


@searches.command("follow", context_settings=QUERY_FIRST)
def searches_follow(reader: ReaderName, query: Query, db: Db = None) -> None:
    """Follow a search: stories matching it from now on rise in the reader's feed."""
    with open_store(db) as tidings, reported():
        saved = tidings.follow_search(reader, query)
        url = _feed_url(tidings.feed_token(reader), saved.id)
    console.print(Text(f"{reader}: follows the search {saved.query!r} (id {saved.id})"))
    console.print(Text(f"Atom: {url}", style="dim"))


@searches.command("unfollow", context_settings=QUERY_FIRST)
def searches_unfollow(
    reader: ReaderName,
    query_or_id: Annotated[str, typer.Argument(help="The search as followed, or its id.")],
    db: Db = None,
) -> None:
    """Stop following a search (by its query or its id from `tidings searches list`)."""
    with open_store(db) as tidings, reported():
        saved = tidings.unfollow_search(reader, query_or_id)
    console.print(Text(f"{reader}: no longer follows the search {saved.query!r}"))


@searches.command("list")
def searches_list(reader: ReaderName, as_json: AsJson = False, db: Db = None) -> None:
    """The searches a reader follows, with the Atom feed of each."""
    with open_store(db) as tidings, reported():
        saved = tidings.saved_searches(reader)
        token = tidings.feed_token(reader) if saved else ""
        urls = [_feed_url(token, s.id) for s in saved]
    if as_json:
        print_json([{**s.to_dict(), "feed_url": url} for s, url in zip(saved, urls, strict=True)])
        return
    if not saved:
        console.print(Text(f"{reader} follows no searches yet (tidings searches follow …)."))
        return
    table = Table(title=Text(f"Searches {reader} follows"), title_justify="left")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("query")
    table.add_column("since", no_wrap=True)
    table.add_column("Atom feed", style="dim", overflow="fold")
    for s, url in zip(saved, urls, strict=True):
        table.add_row(s.id, Text(s.query), local_time(s.since), url)
    console.print(table)
