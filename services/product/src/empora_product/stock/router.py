"""``/api/products/{id}/stock``: admin stock levels, adjustments and movement history."""

from __future__ import annotations

from fastapi import APIRouter

from empora_common.db import driver_connection
from empora_common.pagination import Page
from empora_common.security import AdminUser
from empora_product.dependencies import CatalogSession, Pagination
from empora_product.documents import rfc3339
from empora_product.products.dependencies import AdminProduct
from empora_product.stock import repository as repo
from empora_product.stock import service
from empora_product.stock.schemas import (
    StockAdjustment,
    StockLevels,
    StockMovementOut,
    StockSet,
)

router = APIRouter(prefix="/api/products/{product_id}/stock", tags=["stock"])


@router.get("", response_model=StockLevels, summary="Stock levels of a product")
async def get_stock(product: AdminProduct, session: CatalogSession) -> StockLevels:
    """Admin: ``on_hand``, ``reserved`` and ``available``."""
    return await service.get_levels(await driver_connection(session), product)


@router.put("", response_model=StockLevels, summary="Set the quantity on hand")
async def set_stock(
    product: AdminProduct, body: StockSet, admin: AdminUser, session: CatalogSession
) -> StockLevels:
    """Admin: set ``on_hand``; below ``reserved`` → 409."""
    conn = await driver_connection(session)
    return await service.set_quantity(conn, product, body.quantity, admin.user_id)


@router.post("/adjustments", response_model=StockLevels, summary="Adjust the quantity on hand")
async def adjust_stock(
    product: AdminProduct, body: StockAdjustment, admin: AdminUser, session: CatalogSession
) -> StockLevels:
    """Admin: a relative change with its reason, recorded in the movement history."""
    conn = await driver_connection(session)
    return await service.adjust(
        conn, product, body.delta, body.reason, body.reference, admin.user_id
    )


@router.get("/movements", response_model=Page[StockMovementOut], summary="Stock movement history")
async def list_movements(
    product: AdminProduct, page: Pagination, session: CatalogSession
) -> Page[StockMovementOut]:
    """Admin: every change of ``on_hand``, newest first, with its reason and reference."""
    conn = await driver_connection(session)
    rows, total = await repo.movements(conn, product, page.limit, page.offset)
    items = [
        StockMovementOut.model_validate({**row, "created_at": rfc3339(row["created_at"])})
        for row in rows
    ]
    return Page[StockMovementOut].build(items, page, total)
