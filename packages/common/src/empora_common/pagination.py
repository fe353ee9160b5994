"""Pagination: ``?page&limit`` in, ``{data, meta}`` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from empora_common.errors import ValidationFailed

T = TypeVar("T")

MAX_LIMIT = 100
MAX_WINDOW = 10_000


@dataclass(frozen=True, slots=True)
class PageParams:
    """A validated page request."""

    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def page_request(page: int, limit: int) -> PageParams:
    """The page request; page × limit may not exceed 10 000."""
    if page * limit > MAX_WINDOW:
        raise ValidationFailed(
            errors=[{"field": "page", "message": f"page × limit may not exceed {MAX_WINDOW}"}]
        )
    return PageParams(page=page, limit=limit)


# Dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
# a hop that costs more than the work (measured: ~0.1 ms of CPU per dependency and request).
async def page_params(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 20,
) -> PageParams:
    """``?page&limit`` as a dependency (see ``page_request``)."""
    return page_request(page, limit)


Pagination = Annotated[PageParams, Depends(page_params)]


class PageMeta(BaseModel):
    page: int
    limit: int
    total: int
    total_pages: int


class Page(BaseModel, Generic[T]):
    """``{"data": [...], "meta": {"page", "limit", "total", "total_pages"}}``."""

    data: list[T]
    meta: PageMeta

    @classmethod
    def build(cls, items: list[T], params: PageParams, total: int) -> Page[T]:
        """A page from its items and the total count."""
        pages = (total + params.limit - 1) // params.limit if total else 0
        return cls(
            data=items,
            meta=PageMeta(page=params.page, limit=params.limit, total=total, total_pages=pages),
        )
