"""``/internal/products/lookup``: one call for many products (carts, checkout)."""

from __future__ import annotations

from fastapi import APIRouter

from empora_common.responses import OrjsonResponse
from empora_common.security import InternalCaller
from empora_product.dependencies import Pool
from empora_product.products import repository as repo
from empora_product.products.schemas import LookupIn, LookupOut

router = APIRouter(prefix="/internal/products", tags=["internal"], dependencies=[InternalCaller])


@router.post("/lookup", response_model=LookupOut, summary="Batch product lookup")
async def lookup(body: LookupIn, pool: Pool) -> OrjsonResponse:
    """Prices and availability of many products; unknown ids are absent."""
    rows = await repo.lookup(pool, body.ids)
    # Built as JSON directly: returning it would have FastAPI validate it against LookupOut.
    body_out = {
        "products": [
            {
                "id": str(r["id"]),
                "sku": r["sku"],
                "slug": r["slug"],
                "name": r["name"],
                "price": {"amount": r["price_amount"], "currency": r["currency"]},
                "is_active": r["is_active"],
                "on_hand": r["on_hand"],
                "reserved": r["reserved"],
                "available": max(r["on_hand"] - r["reserved"], 0),
            }
            for r in rows
        ]
    }
    return OrjsonResponse(body_out)
