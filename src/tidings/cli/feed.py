"""``tidings topics|follow|unfollow|mute|unmute|event|feed|train``: a reader's feed from
the terminal, and what shapes it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tidings.cli.common import (
    AsJson,
    Db,
    console,
    fail,
    meter,
    open_store,
    print_json,
    reported,
)
from tidings.cli.readers import ReaderName
from tidings.rank.feed import FeedPage

app = typer.Typer()

Target = Annotated[
    str,
    typer.Argument(
        help='A topic or entity ("North Korea", "entity:kim-jong-un") or "source:<name>".'
    ),
]


@app.command()
def topics(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 30,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """The most covered topics and entities: what a new reader might follow."""
    with open_store(db) as tidings:
        found = tidings.popular_topics(limit)
    if as_json:
        print_json([{"key": k, "name": n, "articles": c} for k, n, c in found])
        return
    table = Table(title=f"{len(found)} most covered topics", title_justify="left")
    table.add_column("topic")
    table.add_column("articles", justify="right")
    for _key, topic_name, articles in found:
        table.add_row(escape(topic_name), str(articles))
    console.print(table)


def _choice(verb: str, reader: str, what: str, db: str | None) -> None:
    with open_store(db) as tidings, reported():
        name = getattr(tidings, verb)(reader, what)
    console.print(f"{escape(reader)}: {verb} {escape(name)}")


@app.command()
def follow(reader: ReaderName, what: Target, db: Db = None) -> None:
    """Follow a topic, entity or source: its stories rise in the feed."""
    _choice("follow", reader, what, db)


@app.command()
def unfollow(reader: ReaderName, what: Target, db: Db = None) -> None:
    """Stop following a topic, entity or source."""
    _choice("unfollow", reader, what, db)


@app.command()
def mute(reader: ReaderName, what: Target, db: Db = None) -> None:
    """Keep a topic, entity or source out of the feed (see `tidings feed --filtered`)."""
    _choice("mute", reader, what, db)


@app.command()
def unmute(reader: ReaderName, what: Target, db: Db = None) -> None:
    """Let a muted topic, entity or source back in."""
    _choice("unmute", reader, what, db)


@app.command()
def event(
    reader: ReaderName,
    kind: Annotated[
        str,
        typer.Argument(
            help="open, dwell, share, save, unsave, hide, unhide, fewer_like or impression."
        ),
    ],
    article: Annotated[int | None, typer.Option(help="The article acted on.")] = None,
    story: Annotated[int | None, typer.Option(help="The story acted on.")] = None,
    seconds: Annotated[float | None, typer.Option(help="Seconds spent (dwell).")] = None,
    db: Db = None,
) -> None:
    """Record what a reader did with an article or story; the next feed reflects it."""
    with open_store(db) as tidings, reported():
        done = tidings.record(reader, kind, article_id=article, story_id=story, value=seconds)
    console.print(
        f"{escape(reader)}: {done.kind.value} story {done.story_id} (article {done.article_id})"
    )


@app.command()
def feed(
    reader: ReaderName,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the page before.")] = None,
    filtered: Annotated[
        bool, typer.Option("--filtered", help="List what is kept out of the feed, and why.")
    ] = False,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Count the shown stories as seen.")
    ] = True,
    atom: Annotated[bool, typer.Option("--atom", help="Print the feed as Atom XML.")] = False,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """A reader's feed: ranked stories, one per event, each with the reason it is there."""
    with open_store(db) as tidings, reported():
        if filtered:
            kept_out = tidings.filtered(reader)
            if as_json:
                print_json([f.to_dict() for f in kept_out])
                return
            table = Table(title=f"{len(kept_out)} stories kept out", title_justify="left")
            table.add_column("story", justify="right", style="cyan")
            table.add_column("headline")
            table.add_column("why")
            for f in kept_out:
                table.add_row(str(f.story_id), escape(f.headline), escape(f.text))
            console.print(table)
            return
        page = tidings.feed(reader, limit=limit, cursor=cursor, record=record)
    if atom:
        from tidings.web import atom as atom_output

        title = f"tidings — the feed for {page.reader.name}"
        sys.stdout.buffer.write(atom_output.render(page, title=title, self_url="urn:tidings:cli"))
        return
    if as_json:
        print_json(page.to_dict())
        return
    _print_feed(page)


def _print_feed(page: FeedPage) -> None:
    if not page.items:
        console.print("Nothing to show yet: ingest some articles (`tidings demo`).")
        return
    for item in page.items:
        article = item.article
        when = article.published.strftime("%Y-%m-%d") if article.published else ""
        outlets = f"  +{item.outlets - 1} outlets" if item.outlets > 1 else ""
        console.print(
            f"[cyan]{item.rank:>3}[/] [bold]{escape(article.title)}[/]"
            f"  [dim]{escape(article.source or '')} {when}{outlets}[/]"
        )
        console.print(
            f"     [green]{escape(item.reason.text)}[/]  [dim]story {item.story_id}, "
            f"article {article.id}[/]"
        )
    hidden = len(page.filtered)
    tail = f"; {hidden} kept out (`--filtered` lists why)" if hidden else ""
    more = f"; next page: --cursor {page.next_cursor}" if page.next_cursor else ""
    console.print(f"[dim]{len(page.items)} stories, ranked by {page.scorer}{tail}{more}[/]")


@app.command()
def train(
    kind: Annotated[str, typer.Option(help="lightgbm (LambdaRank) or logistic.")] = "lightgbm",
    reset: Annotated[
        bool, typer.Option("--reset", help="Forget trained scorers; rank by the prior again.")
    ] = False,
    as_json: AsJson = False,
    db: Db = None,
) -> None:
    """Learn the feed's scorer from every reader's logged impressions and clicks."""
    if reset:
        with open_store(db) as tidings:
            removed = tidings.reset_scorer()
        console.print(f"Forgot {removed} trained scorer(s): feeds are ranked by the prior")
        return
    if kind not in ("lightgbm", "logistic"):
        raise fail(f"{kind}: the scorer kind must be lightgbm or logistic")
    replaying = meter("Replaying feeds", quiet=as_json)
    with open_store(db) as tidings, reported(), replaying as progress:
        report = tidings.train(kind=kind, progress=progress)
    if as_json:
        print_json(report.to_dict())
        return
    auc = report.auc
    held = f"; held-out AUC {auc['learned']:.3f} (prior {auc['prior']:.3f})" if auc else ""
    console.print(
        f"Trained a {report.kind} scorer on {report.requests} feed requests "
        f"({report.rows} stories shown, {report.clicks} clicked) in {report.seconds:.1f} s{held}"
    )
