"""The request parameters every route shares, each bounded.

An integer past 64 bits reached the database and came back as a 500 (SQLite cannot bind
it, PostgreSQL refuses it). Every id, offset, limit and count a route takes is one of these
types, so it is refused as invalid input naming its field before any route runs;
``tests/hostile/test_web.py`` walks every route to check that none is left unbounded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query, Request
from starlette.datastructures import MultiDict

from tidings.errors import InputError
from tidings.safety import MAX_INT64

PathId = Annotated[int, Path(ge=1, le=MAX_INT64, description="A stored id.")]
FormId = Annotated[int, Form(ge=1, le=MAX_INT64)]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT64, description="Items to skip.")]
MinArticles = Annotated[
    int, Query(ge=1, le=MAX_INT64, description="Only stories told by this many articles.")
]
Cursor = Annotated[
    str | None, Query(max_length=40, description="The next_cursor of the previous page.")
]


async def query_and_form(request: Request, *, max_fields: int, max_length: int) -> MultiDict:
    """The query's and (for a POST) the url-encoded form's fields together, as native RSS
    apps send either, every value of a repeated field kept (``i=1&i=2``; ``get`` gives the
    last, so the form's wins) and each cut at ``max_length`` characters. A body that is no
    form, uploads a file or holds over ``max_fields`` fields: :class:`InputError` naming
    ``body``."""
    items = list(request.query_params.multi_items())[:max_fields]
    if request.method == "POST":
        try:
            form = await request.form(max_files=0, max_fields=max_fields)
        except Exception as exc:  # multipart limits, a broken multipart body
            raise InputError(
                "body", f"not a form of at most {max_fields:,} fields without files ({exc})"
            ) from None
        items += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return MultiDict([(k, v[:max_length]) for k, v in items])
