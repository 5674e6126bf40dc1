"""Feeds a test serves from its local HTTP server: real news-like items in RSS 2.0, for
the tests of what a reader's subscriptions hold (read state, the Fever API)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

SUBJECTS = [
    ("Council approves new cycle lanes along the river", "The city council voted to build"
     " protected cycle lanes along the river embankment by next summer."),
    ("Storm closes mountain passes for a second day", "Heavy snow and winds kept the"
     " mountain passes closed while crews cleared avalanche debris."),
    ("Chip maker reports record quarterly profit", "The semiconductor company said demand"
     " for data centre processors pushed profit to a record."),
    ("Orchestra names its first female conductor", "The national orchestra appointed a"
     " conductor who has led opera houses across Europe."),
    ("Scientists map the genome of an ancient wheat", "Researchers sequenced the genome of"
     " emmer wheat found in a four-thousand-year-old granary."),
    ("Marathon record falls in cool autumn race", "The runner broke the course record by"
     " forty seconds in ideal conditions on a flat route."),
]  # fmt: skip


def rss(title: str, items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 feed named ``title`` of (link, headline, text) items."""
    when = format_datetime(datetime(2026, 12, 1, 9, tzinfo=UTC), usegmt=True)
    entries = "".join(
        f"<item><title>{escape(h)}</title><link>{escape(link)}</link>"
        f"<guid>{escape(link)}</guid><description>{escape(text)}</description>"
        f"<pubDate>{when}</pubDate></item>"
        for link, h, text in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://example.org/</link><description>news</description>{entries}"
        "</channel></rss>"
    ).encode()
