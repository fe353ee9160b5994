"""Public documents built from rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from empora_product.documents import product_document, rfc3339, stock_summary, with_stock


class TestProductDocument:
    def test_has_the_contract_fields(self) -> None:
        now = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
        pid = uuid.uuid4()
        row = {
            "id": pid,
            "sku": "S",
            "slug": "s",
            "name": "N",
            "description": "",
            "price_amount": 1999,
            "currency": "USD",
            "category_id": None,
            "images": [],
            "attributes": {"a": "b"},
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        document = with_stock(product_document(row), 5, 2)
        assert document["id"] == str(pid)
        assert document["price"] == {"amount": 1999, "currency": "USD"}
        assert document["stock"] == {"available": 3, "in_stock": True}
        assert document["created_at"] == "2026-11-25T09:30:00Z"


class TestStockSummary:
    def test_sold_out_or_archived_is_not_in_stock(self) -> None:
        assert stock_summary(True, 2, 2) == {"available": 0, "in_stock": False}
        assert stock_summary(False, 9, 0) == {"available": 9, "in_stock": False}

    def test_rfc3339_uses_z(self) -> None:
        assert rfc3339(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00Z"
