"""JSON documents of the public API built straight from rows (the hot read path)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


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
    available = max(on_hand - reserved, 0)
    return {"available": available, "in_stock": is_active and available > 0}


def with_stock(document: dict[str, Any], on_hand: int, reserved: int) -> dict[str, Any]:
    """The document with its current stock merged in."""
    document["stock"] = stock_summary(document["is_active"], on_hand, reserved)
    return document
