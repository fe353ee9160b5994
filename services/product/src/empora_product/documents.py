"""JSON documents of the public API built straight from rows (the hot read path)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import orjson


class Row(Protocol):
    """A database row read by column name (asyncpg Record or SQLAlchemy RowMapping)."""

    def __getitem__(self, key: str, /) -> Any: ...


def rfc3339(value: datetime) -> str:
    """A UTC timestamp as RFC 3339 with a ``Z``."""
    return value.isoformat().replace("+00:00", "Z")


def product_document(row: Row) -> dict[str, Any]:
    """The product without its stock figures (what the cache holds)."""
    category_id = row["category_id"]
    return {
        "id": str(row["id"]),
        "sku": row["sku"],
        "slug": row["slug"],
        "name": row["name"],
        "description": row["description"],
        "price": {"amount": row["price_amount"], "currency": row["currency"]},
        "category_id": str(category_id) if category_id is not None else None,
        "images": row["images"],
        "attributes": row["attributes"],
        "is_active": row["is_active"],
        "created_at": rfc3339(row["created_at"]),
        "updated_at": rfc3339(row["updated_at"]),
    }


def stock_summary(is_active: bool, on_hand: int, reserved: int) -> dict[str, Any]:
    """The public stock figures: ``{"available", "in_stock"}``."""
    available = available_of(on_hand, reserved)
    return {"available": available, "in_stock": is_active and available > 0}


def with_stock(document: dict[str, Any], on_hand: int, reserved: int) -> dict[str, Any]:
    """The document with its current stock merged in."""
    document["stock"] = stock_summary(document["is_active"], on_hand, reserved)
    return document


# --- the cached hot path: serialised fragments, stock appended as bytes ----------------------
#
# A cached product is its document serialised once, without the closing brace and without
# ``stock``; a response appends the live stock figures (``stock`` stays the last key, as
# ``with_stock`` puts it) and joins the fragments, so nothing is parsed or re-serialised.


def fragment(document: dict[str, Any]) -> bytes:
    """The document (without ``stock``) as JSON bytes missing only its closing ``}``."""
    return orjson.dumps(document)[:-1]


def stock_tail(is_active: bool, available: int) -> bytes:
    """What completes a fragment: ``,"stock":{...}}`` (``available`` already floored at 0)."""
    if is_active and available > 0:
        return b',"stock":{"available":%d,"in_stock":true}}' % available
    return b',"stock":{"available":%d,"in_stock":false}}' % available


def available_of(on_hand: int, reserved: int) -> int:
    """``available`` as the public API shows it (never negative)."""
    return max(on_hand - reserved, 0)
