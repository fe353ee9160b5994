"""Reading a stored cart hash."""

from __future__ import annotations

import uuid

from empora_cart.carts.repository import parse_cart


class TestParseCart:
    def test_an_empty_hash_is_no_cart(self) -> None:
        assert parse_cart([]) is None
        assert parse_cart({}) is None

    def test_reads_lines_in_the_order_they_were_added(self) -> None:
        cart_id, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        raw = {
            "id": str(cart_id),
            "version": "4",
            "seq": "2",
            "created_at": "2026-11-25T10:00:00+00:00",
            "updated_at": "2026-11-25T11:00:00+00:00",
            f"l:{second}": "5",
            f"a:{second}": "2",
            f"l:{first}": "1",
            f"a:{first}": "1",
        }

        state = parse_cart(raw)

        assert state is not None
        assert state.id == cart_id
        assert state.version == 4
        assert [(line.product_id, line.quantity) for line in state.lines] == [
            (first, 1),
            (second, 5),
        ]
        assert state.item_count == 6
        assert state.updated_at is not None and state.updated_at.hour == 11

    def test_reads_the_flat_list_a_script_returns(self) -> None:
        cart_id, pid = uuid.uuid4(), uuid.uuid4()

        state = parse_cart(["id", str(cart_id), "version", "1", f"l:{pid}", "3", f"a:{pid}", "1"])

        assert state is not None
        assert state.product_ids == {pid}
        assert state.updated_at is None
