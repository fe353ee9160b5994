"""Request and response bodies of the categories slice."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from empora_common.text import CleanText
from empora_product.products.schemas import Slug

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    CleanText,
]


class CategoryCreate(BaseModel):
    """``POST /api/categories``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    slug: Slug | None = None
    parent_id: uuid.UUID | None = None


class CategoryUpdate(BaseModel):
    """``PATCH /api/categories/{id}``: ``parent_id: null`` moves it to the top level."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    slug: Slug | None = None
    parent_id: uuid.UUID | None = None

    @field_validator("name", "slug")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class CategoryNode(BaseModel):
    """A category in the tree, with its children."""

    id: uuid.UUID
    name: str
    slug: str
    parent_id: uuid.UUID | None
    children: list[CategoryNode]


class CategoryRef(BaseModel):
    id: uuid.UUID
    name: str
    slug: str


class CategoryDetail(BaseModel):
    """One category with its breadcrumb (``ancestors``, root first) and its subtree."""

    id: uuid.UUID
    name: str
    slug: str
    parent_id: uuid.UUID | None
    depth: int
    ancestors: list[CategoryRef]
    children: list[CategoryNode]
    created_at: str
    updated_at: str
