"""Pricing a cart and counting guests, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from empora_cart.carts.catalog import CatalogProduct
from empora_cart.carts.repository import CartState, Line
from empora_cart.carts.service import UNAVAILABLE_NAME, quota_subject, render_cart
from empora_common.money import Money

CART_ID = uuid.uuid4()


def product(price: int, *, available: int = 10, active: bool = True) -> CatalogProduct:
    pid = uuid.uuid4()
    return CatalogProduct(
        id=pid,
        sku=f"SKU-{pid.hex[:6]}",
        slug=pid.hex[:6],
        name=f"Thing {pid.hex[:4]}",
        price=Money(amount=price, currency="USD"),
        is_active=active,
        on_hand=available,
        reserved=0,
        available=available,
    )


def state(*lines: tuple[uuid.UUID, int], version: int = 3) -> CartState:
    return CartState(
        id=CART_ID,
        version=version,
        lines=tuple(Line(pid, qty, n) for n, (pid, qty) in enumerate(lines, 1)),
        updated_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
    )


class TestRenderCart:
    def test_prices_each_line_and_the_subtotal(self) -> None:
        a, b = product(250), product(1999, available=3)

        cart = render_cart(
            state((a.id, 4), (b.id, 2)), {a.id: a, b.id: b}, cart_id=CART_ID, currency="USD"
        )

        assert [i.line_total.amount for i in cart.items] == [1000, 3998]
        assert cart.items[1].available == 3
        assert cart.subtotal == Money(amount=4998, currency="USD")
        assert cart.item_count == 6
        assert cart.version == 3
        assert cart.id == CART_ID

    def test_archived_lines_are_flagged_and_left_out_of_the_subtotal(self) -> None:
        kept, archived = product(500), product(900, active=False)

        cart = render_cart(
            state((kept.id, 1), (archived.id, 2)),
            {kept.id: kept, archived.id: archived},
            cart_id=CART_ID,
            currency="USD",
        )

        assert [i.purchasable for i in cart.items] == [True, False]
        assert cart.items[1].available == 0
        assert cart.items[1].line_total.amount == 1800
        assert cart.subtotal.amount == 500
        assert cart.item_count == 3

    def test_a_product_the_catalog_no_longer_knows_is_not_purchasable(self) -> None:
        gone = uuid.uuid4()

        cart = render_cart(state((gone, 2)), {gone: None}, cart_id=CART_ID, currency="USD")

        item = cart.items[0]
        assert item.purchasable is False
        assert item.name == UNAVAILABLE_NAME
        assert item.quantity == 2
        assert cart.subtotal.amount == 0

    def test_negative_stock_reads_as_none_available(self) -> None:
        oversold = product(100, available=-2)

        cart = render_cart(
            state((oversold.id, 1)), {oversold.id: oversold}, cart_id=CART_ID, currency="USD"
        )

        assert cart.items[0].available == 0

    def test_an_absent_cart_is_empty_with_the_given_id_and_version(self) -> None:
        cart = render_cart(None, {}, cart_id=CART_ID, currency="EUR", absent_version=7)

        assert cart.items == []
        assert cart.subtotal == Money(amount=0, currency="EUR")
        assert cart.version == 7
        assert cart.updated_at is None
        assert cart.cart_token is None

    def test_carries_a_guest_token(self) -> None:
        cart = render_cart(state(), {}, cart_id=CART_ID, currency="USD", token="t" * 43)

        assert cart.cart_token == "t" * 43


class TestQuotaSubject:
    def test_an_ipv4_address_counts_alone(self) -> None:
        assert quota_subject("203.0.113.9") == "203.0.113.9"

    def test_an_ipv6_address_counts_with_its_64(self) -> None:
        assert quota_subject("2001:db8::1") == quota_subject("2001:db8::ffff:1") == "2001:db8::/64"

    def test_an_ipv4_mapped_address_counts_as_ipv4(self) -> None:
        assert quota_subject("::ffff:203.0.113.9") == "203.0.113.9"

    def test_something_else_counts_as_itself(self) -> None:
        assert quota_subject("unknown") == "unknown"
