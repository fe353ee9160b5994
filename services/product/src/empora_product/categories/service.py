"""Category tree rules: create, rename, move (no cycles), delete (only when empty)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from empora_common.errors import ValidationFailed
from empora_product.cache import mark_catalog_changed
from empora_product.categories import repository as repo
from empora_product.categories.errors import (
    CategoryCycle,
    CategoryNotEmpty,
    CategoryNotFound,
    CategorySlugTaken,
)
from empora_product.categories.schemas import CategoryCreate, CategoryUpdate
from empora_product.documents import Row, rfc3339
from empora_product.slugs import findable, parse_uuid, slugify, with_suffix


def _node(row: Row) -> dict[str, Any]:
    parent = row["parent_id"]
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "slug": row["slug"],
        "parent_id": str(parent) if parent is not None else None,
        "children": [],
    }


def build_tree(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """Nest rows (parents listed before their children) into ``[{..., "children"}]``.

    A row whose parent is not among the rows is a root of the result.
    """
    nodes: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for row in rows:
        node = _node(row)
        nodes[node["id"]] = node
        parent = nodes.get(node["parent_id"]) if node["parent_id"] else None
        (parent["children"] if parent is not None else roots).append(node)
    return roots


def path_ids(path: str) -> list[uuid.UUID]:
    """The ids along a materialised path, root first."""
    return [uuid.UUID(part) for part in path.strip("/").split("/") if part]


async def tree(session: AsyncSession) -> list[dict[str, Any]]:
    """The whole category tree."""
    return build_tree(await repo.all_categories(session))


async def _get(session: AsyncSession, id_or_slug: str) -> Row:
    if not findable(id_or_slug):
        raise CategoryNotFound(f"No category {id_or_slug!r}")
    row = await repo.find(session, parse_uuid(id_or_slug), id_or_slug)
    if row is None:
        raise CategoryNotFound(f"No category {id_or_slug}")
    return row


async def existing_id(session: AsyncSession, id_or_slug: str) -> str:
    """The id of an existing category; 404 otherwise."""
    return str((await _get(session, id_or_slug))["id"])


async def detail(session: AsyncSession, id_or_slug: str) -> dict[str, Any]:
    """One category with its ancestors (root first) and its subtree."""
    row = await _get(session, id_or_slug)
    ancestor_ids = path_ids(row["path"])[:-1]
    ancestors = await repo.by_ids(session, ancestor_ids) if ancestor_ids else []
    below = [r for r in await repo.subtree(session, row["path"]) if r["id"] != row["id"]]
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "slug": row["slug"],
        "parent_id": str(row["parent_id"]) if row["parent_id"] is not None else None,
        "depth": row["depth"],
        "ancestors": [
            {"id": str(a["id"]), "name": a["name"], "slug": a["slug"]} for a in ancestors
        ],
        "children": build_tree(below),
        "created_at": rfc3339(row["created_at"]),
        "updated_at": rfc3339(row["updated_at"]),
    }


async def _parent(session: AsyncSession, parent_id: uuid.UUID) -> Row:
    parent = await repo.find(session, parent_id, None)
    if parent is None:
        raise ValidationFailed(errors=[{"field": "parent_id", "message": "no such category"}])
    return parent


async def _free_slug(
    session: AsyncSession, slug: str | None, name: str, exclude: uuid.UUID | None = None
) -> str:
    if slug is not None:
        if await repo.slug_taken(session, slug, exclude):
            raise CategorySlugTaken("Another category has this slug")
        return slug
    base = slugify(name, fallback="category")
    return with_suffix(base, await repo.taken_slugs(session, base))


async def create(session: AsyncSession, body: CategoryCreate) -> dict[str, Any]:
    """A new category under ``parent_id`` (or at the top)."""
    await repo.lock_tree(session)
    category_id = uuid.uuid4()
    path, depth = f"/{category_id}/", 0
    if body.parent_id is not None:
        parent = await _parent(session, body.parent_id)
        path, depth = f"{parent['path']}{category_id}/", parent["depth"] + 1
    values = {
        "id": category_id,
        "name": body.name,
        "slug": await _free_slug(session, body.slug, body.name),
        "parent_id": body.parent_id,
        "path": path,
        "depth": depth,
    }
    try:
        async with session.begin_nested():
            await repo.insert(session, values)
    except IntegrityError as exc:  # a concurrent create took the slug
        raise CategorySlugTaken("Another category has this slug") from exc
    mark_catalog_changed(session)
    return await detail(session, str(category_id))


async def update(session: AsyncSession, id_or_slug: str, body: CategoryUpdate) -> dict[str, Any]:
    """Rename and/or move a category (with its subtree); a cycle is a 409."""
    await repo.lock_tree(session)
    row = await _get(session, id_or_slug)
    category_id: uuid.UUID = row["id"]
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    if "name" in sent and body.name is not None:
        values["name"] = body.name
    if "slug" in sent and body.slug is not None and body.slug != row["slug"]:
        values["slug"] = await _free_slug(session, body.slug, row["name"], exclude=category_id)
    if "parent_id" in sent and body.parent_id != row["parent_id"]:
        if body.parent_id is None:
            new_path, new_depth = f"/{category_id}/", 0
        else:
            parent = await _parent(session, body.parent_id)
            if parent["path"].startswith(row["path"]):
                raise CategoryCycle("A category cannot move under itself or its descendants")
            new_path, new_depth = f"{parent['path']}{category_id}/", parent["depth"] + 1
        await repo.move_subtree(session, row["path"], new_path, new_depth - row["depth"])
        values["parent_id"] = body.parent_id
    if values:
        try:
            async with session.begin_nested():
                await repo.update(session, category_id, values)
        except IntegrityError as exc:
            raise CategorySlugTaken("Another category has this slug") from exc
        mark_catalog_changed(session)
    return await detail(session, str(category_id))


async def delete(session: AsyncSession, id_or_slug: str) -> None:
    """Delete an empty category; one with children or products is a 409."""
    await repo.lock_tree(session)
    row = await _get(session, id_or_slug)
    if await repo.has_children(session, row["id"]):
        raise CategoryNotEmpty("Move or delete its subcategories first")
    if await repo.has_products(session, row["id"]):
        raise CategoryNotEmpty("Move its products to another category first")
    try:
        async with session.begin_nested():
            await repo.delete(session, row["id"])
    except IntegrityError as exc:  # a product was put in it meanwhile
        raise CategoryNotEmpty("Move its products to another category first") from exc
    mark_catalog_changed(session)
