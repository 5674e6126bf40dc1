"""The JSON shapes Google Reader apps read: a subscription, and an item with its categories
(reading list, folder, "For you", read, starred), its origin feed and its summary. Every
text of the summary is escaped here: no markup tidings stored reaches an app."""

from __future__ import annotations

import html
from typing import Any

from tidings.library import Tidings
from tidings.safety import safe_url
from tidings.store.folders import Subscription
from tidings.store.readers import Reader
from tidings.store.streams import Item, micros
from tidings.web import greader_ids as ids


def subscription(s: Subscription) -> dict[str, Any]:
    categories = (
        [] if s.folder is None else [{"id": ids.label(s.folder.name), "label": s.folder.name}]
    )
    return {
        "id": f"feed/{s.source.url}",
        "title": s.title,
        "categories": categories,
        "url": s.source.url,
        "htmlUrl": safe_url(s.source.site_url) or "",
        "iconUrl": "",
        "firstitemmsec": str(micros(s.source.added) // 1000),
    }


def _html(item: Item, reason: str | None) -> str:
    """The reason (For you), the picture, key points and paragraphs, all escaped: never
    markup we stored."""
    a = item.article
    parts = [] if reason is None else [f"<p><em>{html.escape(reason)}</em></p>"]
    picture = safe_url(a.image.url) if a.image is not None else None
    if picture:
        alt = html.escape(a.image.caption or "", quote=True) if a.image else ""
        parts.append(f'<p><img src="{html.escape(picture, quote=True)}" alt="{alt}"></p>')
    if a.key_points:
        points = "".join(f"<li>{html.escape(p)}</li>" for p in a.key_points)
        parts.append(f"<ul>{points}</ul>")
    parts += [f"<p>{html.escape(p)}</p>" for p in a.paragraphs]
    return "".join(parts)


def _item(
    item: Item,
    folders: dict[int, str],
    *,
    subscribed: set[int],
    reason: str | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    a, source = item.article, item.source
    fetched = micros(a.fetched)
    published = int((a.published or a.fetched).timestamp())
    categories = [ids.READING_LIST] if source.id in subscribed else []
    if source.id in folders:
        categories.append(ids.label(folders[source.id]))
    if reason is not None:
        categories.append(ids.label(ids.FOR_YOU))
    if item.state.read:
        categories.append(ids.READ)
    if item.state.starred:
        categories.append(ids.STARRED)
    link = safe_url(a.url) or safe_url(a.canonical_url) or ""
    return {
        "id": ids.long_id(a.id),
        "crawlTimeMsec": str(fetched // 1000),
        "timestampUsec": str(fetched),
        "published": published,
        "updated": published,
        "title": title or a.title,
        "author": a.byline or "",
        "canonical": [{"href": link}],
        "alternate": [{"href": link, "type": "text/html"}],
        "summary": {"direction": "ltr", "content": _html(item, reason)},
        "categories": categories,
        "origin": {
            "streamId": f"feed/{source.url}",
            "title": source.title or a.source or source.url,
            "htmlUrl": safe_url(source.site_url) or "",
        },
    }


class Rendering:
    """What rendering items needs of the reader's list, read once per call."""

    def __init__(self, store: Tidings, reader: Reader) -> None:
        listed = store.filed_subscriptions(reader)
        self.subscribed = {s.source.id for s in listed}
        self.folders = {s.source.id: s.folder.name for s in listed if s.folder is not None}
        self.titles = {s.source.id: s.title for s in listed}

    def item(self, item: Item, *, reason: str | None = None, title: str | None = None) -> Any:
        rendered = _item(item, self.folders, subscribed=self.subscribed, reason=reason, title=title)
        if item.source.id in self.titles:
            rendered["origin"]["title"] = self.titles[item.source.id]
        return rendered
