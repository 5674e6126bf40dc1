"""The request parameters every route shares, each bounded.

An integer past 64 bits reached the database and came back as a 500 (SQLite cannot bind
it, PostgreSQL refuses it). Every id, offset, limit and count a route takes is one of these
types, so it is refused as invalid input naming its field before any route runs;
``tests/hostile/test_web.py`` walks every route to check that none is left unbounded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query

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
