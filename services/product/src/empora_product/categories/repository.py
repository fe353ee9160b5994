"""All SQL of the categories slice (adjacency list + materialised path)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from empora_product.models import category, product

# Tree changes take this transaction-level lock, so two concurrent moves can never combine
# into a cycle that neither would make alone.
_TREE_LOCK = 0x70726F64  # "prod"


async def lock_tree(session: AsyncSession) -> None:
    """Serialise structural changes of the tree until the transaction ends."""
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(_TREE_LOCK)))


async def all_categories(session: AsyncSession) -> list[RowMapping]:
    """Every category, parents before children, siblings by name."""
    rows = await session.execute(
        sa.select(category).order_by(category.c.depth, category.c.name, category.c.id)
    )
    return list(rows.mappings())


async def find(
    session: AsyncSession, category_id: uuid.UUID | None, slug: str | None
) -> RowMapping | None:
    """One category by id or by slug."""
    where = category.c.id == category_id if category_id is not None else category.c.slug == slug
    return (await session.execute(sa.select(category).where(where))).mappings().first()


async def subtree(session: AsyncSession, path: str) -> list[RowMapping]:
    """A category and all its descendants."""
    rows = await session.execute(
        sa.select(category)
        .where(sa.func.starts_with(category.c.path, path))
        .order_by(category.c.depth, category.c.name, category.c.id)
    )
    return list(rows.mappings())


async def by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[RowMapping]:
    """Categories by id, shallowest first."""
    rows = await session.execute(
        sa.select(category).where(category.c.id.in_(ids)).order_by(category.c.depth)
    )
    return list(rows.mappings())


async def slug_taken(session: AsyncSession, slug: str, exclude: uuid.UUID | None = None) -> bool:
    """Whether another category uses this slug."""
    statement = sa.select(category.c.id).where(category.c.slug == slug)
    if exclude is not None:
        statement = statement.where(category.c.id != exclude)
    return (await session.execute(statement)).first() is not None


async def taken_slugs(session: AsyncSession, base: str) -> set[str]:
    """Slugs equal to ``base`` or ``base-<n>`` that are in use."""
    rows = await session.execute(
        sa.select(category.c.slug).where(
            sa.or_(category.c.slug == base, category.c.slug.startswith(base + "-"))
        )
    )
    return set(rows.scalars())


async def insert(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    """Insert a category; returns its row."""
    result = await session.execute(category.insert().values(**values).returning(*category.c))
    return result.mappings().one()


async def update(
    session: AsyncSession, category_id: uuid.UUID, values: dict[str, Any]
) -> RowMapping:
    """Update a category's own row."""
    result = await session.execute(
        category.update()
        .where(category.c.id == category_id)
        .values(**values, updated_at=sa.func.now())
        .returning(*category.c)
    )
    return result.mappings().one()


async def move_subtree(
    session: AsyncSession, old_path: str, new_path: str, depth_delta: int
) -> None:
    """Re-root every path under ``old_path`` (the category included) at ``new_path``."""
    await session.execute(
        category.update()
        .where(sa.func.starts_with(category.c.path, old_path))
        .values(
            path=sa.func.concat(new_path, sa.func.substr(category.c.path, len(old_path) + 1)),
            depth=category.c.depth + depth_delta,
            updated_at=sa.func.now(),
        )
    )


async def has_children(session: AsyncSession, category_id: uuid.UUID) -> bool:
    """Whether any category has this one as its parent."""
    found = await session.execute(
        sa.select(category.c.id).where(category.c.parent_id == category_id).limit(1)
    )
    return found.first() is not None


async def has_products(session: AsyncSession, category_id: uuid.UUID) -> bool:
    """Whether any product (archived ones too) belongs to this category."""
    found = await session.execute(
        sa.select(product.c.id).where(product.c.category_id == category_id).limit(1)
    )
    return found.first() is not None


async def delete(session: AsyncSession, category_id: uuid.UUID) -> None:
    """Delete one category row."""
    await session.execute(category.delete().where(category.c.id == category_id))
