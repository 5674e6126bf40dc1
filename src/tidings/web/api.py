"""``/api/v1``: the JSON API. Each route is a thin call into the library."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from tidings.library import Tidings

router = APIRouter(prefix="/api/v1")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]


def _tidings(request: Request) -> Tidings:
    return request.app.state.tidings


@router.get("/articles", summary="Newest articles")
def articles(
    request: Request, limit: Limit = 20, offset: Offset = 0, source: str | None = None
) -> dict[str, Any]:
    store = _tidings(request)
    items = store.articles(limit=limit, offset=offset, source=source)
    return {"items": [a.to_dict() for a in items], "total": store.article_count()}


@router.get("/articles/{article_id}", summary="One article, as `tidings articles show --json`")
def article(request: Request, article_id: int) -> dict[str, Any]:
    return _tidings(request).article(article_id).to_dict()


@router.get("/stories", summary="Newest stories")
def stories(
    request: Request,
    limit: Limit = 20,
    offset: Offset = 0,
    min_articles: Annotated[int, Query(ge=1)] = 1,
) -> dict[str, Any]:
    store = _tidings(request)
    items = store.stories(limit=limit, offset=offset, min_articles=min_articles)
    return {
        "items": [s.to_dict() for s in items],
        "total": store.story_count(min_articles=min_articles),
    }


@router.get("/stories/{story_id}", summary="One story with every outlet's article")
def story(request: Request, story_id: int) -> dict[str, Any]:
    return _tidings(request).story(story_id).to_dict()


@router.get("/topics", summary="The most covered topics (what a new reader might follow)")
def topics(request: Request, limit: Limit = 30) -> dict[str, Any]:
    found = _tidings(request).popular_topics(limit)
    return {"items": [{"key": k, "name": n, "articles": c} for k, n, c in found]}
