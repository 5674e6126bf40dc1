"""The ``tidings`` command: a thin layer over :class:`tidings.library.Tidings`.

One module per command group, each with its own :class:`typer.Typer`, assembled here;
what they share (consoles, options, opening the store) is in :mod:`tidings.cli.common`.
Top-level commands come from groups added without a name.
"""

from __future__ import annotations

import typer

from tidings.cli import (
    articles,
    evaluate,
    feed,
    ingest,
    keys,
    poll,
    readers,
    search,
    serve,
    sources,
    stories,
    work,
)

app = typer.Typer(
    help="tidings — a personalised news feed of stories that matter to you.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(ingest.app)  # ingest, demo, understand
app.add_typer(articles.app, name="articles")
app.add_typer(sources.app, name="sources")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(stories.app, name="stories")
app.add_typer(poll.app)
app.add_typer(feed.app)  # topics, follow, unfollow, mute, unmute, event, feed, train
app.add_typer(serve.app)
app.add_typer(work.app)
app.add_typer(readers.app, name="readers")
app.add_typer(keys.app, name="keys")
app.add_typer(search.app)  # search, searches follow|unfollow|list


def main() -> None:
    app()


__all__ = ["app", "main"]
