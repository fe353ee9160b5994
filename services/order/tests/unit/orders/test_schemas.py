"""Checkout payload validation and the order view."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from empora_order.orders.records import HistoryEntry, Line, OrderRecord, PaymentRecord
from empora_order.orders.schemas import CheckoutIn, ShippingAddress, order_out

ADDRESS = {"name": "A", "line1": "1 Road", "city": "Oslo", "postal_code": "0150", "country": "no"}


class TestShippingAddress:
    def test_upper_cases_country_and_strips_text(self) -> None:
        address = ShippingAddress.model_validate({**ADDRESS, "name": "  Ada  "})
        assert (address.country, address.name) == ("NO", "Ada")

    @pytest.mark.parametrize("country", ["XX", "USA", "1A", ""])
    def test_rejects_non_iso_countries(self, country: str) -> None:
        with pytest.raises(ValidationError):
            ShippingAddress.model_validate({**ADDRESS, "country": country})

    def test_requires_city_and_postal_code(self) -> None:
        with pytest.raises(ValidationError) as caught:
            ShippingAddress.model_validate({"name": "A", "line1": "x", "country": "NO"})
        assert {e["loc"][0] for e in caught.value.errors()} == {"city", "postal_code"}


class TestCheckoutIn:
    def test_expected_total_as_money(self) -> None:
        body = CheckoutIn.model_validate(
            {
                "shipping_address": ADDRESS,
                "payment": {"token": "tok_visa"},
                "expected_total": {"amount": 1999, "currency": "USD"},
            }
        )
        assert body.expected_amount == 1999

    def test_expected_total_as_integer(self) -> None:
        body = CheckoutIn.model_validate(
            {"shipping_address": ADDRESS, "payment": {"token": "t"}, "expected_total": 5}
        )
        assert body.expected_amount == 5

    def test_expected_total_is_optional(self) -> None:
        body = CheckoutIn.model_validate({"shipping_address": ADDRESS, "payment": {"token": "t"}})
        assert body.expected_amount is None

    @pytest.mark.parametrize("bad", [-1, 1.5, "10", {"amount": -3}])
    def test_rejects_negative_or_fractional_totals(self, bad: object) -> None:
        with pytest.raises(ValidationError):
            CheckoutIn.model_validate(
                {"shipping_address": ADDRESS, "payment": {"token": "t"}, "expected_total": bad}
            )


class TestOrderOut:
    def test_renders_money_lines_and_history(self) -> None:
        now = datetime.now(UTC)
        oid = uuid.uuid4()
        record = OrderRecord(
            id=oid,
            number="EMP-20261125-ABCDEF",
            user_id=uuid.uuid4(),
            customer_email="a@example.com",
            status="paid",
            cart_id=None,
            cart_version=None,
            reservation_id=oid,
            requested_items=[],
            currency="EUR",
            subtotal=600,
            shipping=499,
            total=1099,
            shipping_address=ADDRESS,
            tracking_number=None,
            priced_at=now,
            created_at=now,
            updated_at=now,
            lines=[Line(uuid.uuid4(), "S1", "Cup", 300, 2)],
            history=[HistoryEntry("pending", "started", "system:checkout", now)],
            payment=PaymentRecord(
                uuid.uuid4(),
                1,
                f"{oid}:1",
                "test",
                "tok_visa",
                1099,
                "EUR",
                "captured",
                "ch_1",
                None,
                now,
                now,
            ),
        )
        out = order_out(record).model_dump(mode="json")
        assert out["items"][0]["line_total"] == {"amount": 600, "currency": "EUR"}
        assert out["total"] == {"amount": 1099, "currency": "EUR"}
        assert out["payment"]["amount"] == {"amount": 1099, "currency": "EUR"}
        assert out["status_history"][0]["note"] == "started"
