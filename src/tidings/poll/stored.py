"""What the store already holds of a polled feed's entries, so that the pages of articles
stored with their full text are not fetched again (see :mod:`tidings.ingest.fulltext`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from tidings.ingest.fulltext import StoredBody
from tidings.models import Image
from tidings.store.schema import articles

_CHUNK = 500  # keys per query, well inside both backends' parameter limits


def bodies(connection: Connection, keys: Sequence[str]) -> dict[str, StoredBody]:
    """The stored text (and byline, picture, key points, language) of each key stored."""
    found: dict[str, StoredBody] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), _CHUNK):
        rows = connection.execute(
            select(
                articles.c.canonical_url,
                articles.c.paragraphs,
                articles.c.byline,
                articles.c.image_url,
                articles.c.image_caption,
                articles.c.image_credit,
                articles.c.key_points,
                articles.c.language,
            ).where(articles.c.canonical_url.in_(wanted[start : start + _CHUNK]))
        )
        for row in rows:
            has_image = row.image_url or row.image_caption or row.image_credit
            found[row.canonical_url] = StoredBody(
                paragraphs=list(row.paragraphs or []),
                byline=row.byline,
                image=(
                    Image(row.image_url, row.image_caption, row.image_credit) if has_image else None
                ),
                key_points=list(row.key_points or []),
                language=row.language,
            )
    return found
