"""Public documents built from rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from empora_product.documents import (
    fragment,
    product_document,
    rfc3339,
    stock_summary,
    stock_tail,
    with_stock,
)


def a_row(pid: uuid.UUID, *, is_active: bool = True) -> dict[str, object]:
    now = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    return {
        "id": pid,
        "sku": "S",
        "slug": "s",
        "name": 'Café "N"\n',
        "description": "",
        "price_amount": 1999,
        "currency": "USD",
        "category_id": None,
        "images": [],
        "attributes": {"a": "b"},
        "is_active": is_active,
        "created_at": now,
        "updated_at": now,
    }


class TestProductDocument:
    def test_has_the_contract_fields(self) -> None:
        pid = uuid.uuid4()
        row = a_row(pid)
        document = with_stock(product_document(row), 5, 2)
        assert document["id"] == str(pid)
        assert document["price"] == {"amount": 1999, "currency": "USD"}
        assert document["stock"] == {"available": 3, "in_stock": True}
        assert document["created_at"] == "2026-11-25T09:30:00Z"


class TestFragment:
    @pytest.mark.parametrize(
        ("is_active", "on_hand", "reserved"), [(True, 5, 2), (True, 2, 2), (False, 9, 0)]
    )
    def test_with_its_stock_tail_is_the_serialised_document(
        self, is_active: bool, on_hand: int, reserved: int
    ) -> None:
        document = product_document(a_row(uuid.uuid4(), is_active=is_active))
        body = fragment(document) + stock_tail(is_active, max(on_hand - reserved, 0))
        assert body == orjson.dumps(with_stock(document, on_hand, reserved))

    def test_has_no_raw_newline_to_split_cache_entries_on(self) -> None:
        assert b"\n" not in fragment(product_document(a_row(uuid.uuid4())))


class TestStockSummary:
    def test_sold_out_or_archived_is_not_in_stock(self) -> None:
        assert stock_summary(True, 2, 2) == {"available": 0, "in_stock": False}
        assert stock_summary(False, 9, 0) == {"available": 9, "in_stock": False}

    def test_rfc3339_uses_z(self) -> None:
        assert rfc3339(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00Z"
