"""Pure rules of the stock slice."""

from __future__ import annotations

import uuid

from empora_product.stock.schemas import Line
from empora_product.stock.service import levels_out, merge_lines


class TestMergeLines:
    def test_sums_per_product_in_id_order(self) -> None:
        a, b = sorted([uuid.uuid4(), uuid.uuid4()])
        lines = [
            Line(product_id=b, quantity=1),
            Line(product_id=a, quantity=2),
            Line(product_id=b, quantity=3),
        ]
        assert merge_lines(lines) == [(a, 2), (b, 4)]


class TestLevelsOut:
    def test_available_is_on_hand_minus_reserved(self) -> None:
        product = uuid.uuid4()
        levels = levels_out(product, (10, 4))
        assert (levels.on_hand, levels.reserved, levels.available) == (10, 4, 6)
