"""``/api/categories``: the public tree and breadcrumbs; admin create, update and delete."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Response

from empora_common.security import AdminUser
from empora_product.categories import service
from empora_product.categories.schemas import (
    CategoryCreate,
    CategoryDetail,
    CategoryNode,
    CategoryUpdate,
)
from empora_product.dependencies import Cache, CatalogSession

router = APIRouter(prefix="/api/categories", tags=["categories"])

_JSON = "application/json"


@router.get("", response_model=list[CategoryNode], summary="The category tree")
async def get_tree(session: CatalogSession, cache: Cache) -> Response:
    """Every category, nested: ``[{"id", "name", "slug", "parent_id", "children"}]``."""
    cached, generation = await cache.get("categories")
    if cached is not None:
        return Response(cached, media_type=_JSON)
    body = orjson.dumps(await service.tree(session)).decode()
    await cache.set(generation, "categories", body)
    return Response(body, media_type=_JSON)


@router.get("/{id_or_slug}", response_model=CategoryDetail, summary="One category")
async def get_category(id_or_slug: str, session: CatalogSession) -> dict[str, Any]:
    """A category with its ``ancestors`` (breadcrumb, root first) and ``children``."""
    return await service.detail(session, id_or_slug)


async def _admin_first(_admin: AdminUser) -> None:
    """401/403 before anything else is looked at."""


async def _admin_category(category_id: str, _admin: AdminUser, session: CatalogSession) -> str:
    """The id of the category an admin route acts on: 401/403 first, then 404, then 422."""
    return await service.existing_id(session, category_id)


AdminFirst = Annotated[None, Depends(_admin_first)]
AdminCategory = Annotated[str, Depends(_admin_category)]


@router.post("", status_code=201, response_model=CategoryDetail, summary="Create a category")
async def create_category(
    _admin: AdminFirst, body: CategoryCreate, session: CatalogSession
) -> dict[str, Any]:
    """Admin: a new category (slug unique: 409)."""
    return await service.create(session, body)


@router.patch("/{category_id}", response_model=CategoryDetail, summary="Rename or move")
async def update_category(
    category: AdminCategory, body: CategoryUpdate, session: CatalogSession
) -> dict[str, Any]:
    """Admin: rename or move (with the subtree); a cycle → 409."""
    return await service.update(session, category, body)


@router.delete("/{category_id}", status_code=204, summary="Delete an empty category")
async def delete_category(category: AdminCategory, session: CatalogSession) -> Response:
    """Admin: delete; one with children or products → 409."""
    await service.delete(session, category)
    return Response(status_code=204)
