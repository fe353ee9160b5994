"""Order payloads in and out (the API contract's shapes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from empora_common.money import Money
from empora_common.text import CleanText
from empora_order.orders.countries import ISO_3166_ALPHA2
from empora_order.orders.records import OrderRecord

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), CleanText
]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), CleanText]


class ShippingAddress(BaseModel):
    """``{name, line1, line2?, city, region?, postal_code, country}``."""

    name: Text
    line1: Text
    line2: OptionalText | None = None
    city: Text
    region: OptionalText | None = None
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), CleanText
    ]
    country: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2)]

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        code = value.upper()
        if code not in ISO_3166_ALPHA2:
            raise ValueError("must be an ISO 3166-1 alpha-2 country code")
        return code


class PaymentIn(BaseModel):
    token: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), CleanText
    ]


# Amounts are bigint minor units: anything larger cannot be any order's total.
MAX_AMOUNT = 2**63 - 1


class MoneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=0, le=MAX_AMOUNT, strict=True)
    currency: str | None = Field(None, min_length=3, max_length=3)


class CheckoutIn(BaseModel):
    """The body of ``POST /api/orders``."""

    shipping_address: ShippingAddress
    payment: PaymentIn
    # The total the buyer saw: Money, or its amount in minor units.
    expected_total: MoneyIn | Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True)] | None = None

    @field_validator("expected_total", mode="wrap")
    @classmethod
    def _one_expected_total_error(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # One message naming the field, not one per member of the union (whose internal
        # names would show up in the field paths).
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(
                'must be an amount in minor units (an integer >= 0) or {"amount", "currency"}'
            ) from None

    @property
    def expected_amount(self) -> int | None:
        """The expected total in minor units, if the buyer sent one."""
        if self.expected_total is None:
            return None
        if isinstance(self.expected_total, MoneyIn):
            return self.expected_total.amount
        return self.expected_total


class ShipIn(BaseModel):
    tracking_number: OptionalText | None = None


class OrderItemOut(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money


class PaymentOut(BaseModel):
    status: str
    provider: str
    reference: str | None
    amount: Money
    decline_code: str | None = None


class StatusChangeOut(BaseModel):
    status: str
    at: datetime
    note: str | None
    actor: str


class OrderOut(BaseModel):
    """The contract's order."""

    id: uuid.UUID
    number: str
    user_id: uuid.UUID
    customer_email: str
    status: str
    items: list[OrderItemOut]
    subtotal: Money
    shipping: Money
    total: Money
    shipping_address: dict[str, Any]
    payment: PaymentOut | None
    tracking_number: str | None
    status_history: list[StatusChangeOut]
    created_at: datetime
    updated_at: datetime


def order_out(record: OrderRecord) -> OrderOut:
    """The API view of an order."""
    cur = record.currency

    def money(amount: int) -> Money:
        return Money(amount=amount, currency=cur)

    payment = record.payment
    return OrderOut(
        id=record.id,
        number=record.number,
        user_id=record.user_id,
        customer_email=record.customer_email,
        status=record.status,
        items=[
            OrderItemOut(
                product_id=line.product_id,
                sku=line.sku,
                name=line.name,
                unit_price=money(line.unit_price),
                quantity=line.quantity,
                line_total=money(line.line_total),
            )
            for line in record.lines
        ],
        subtotal=money(record.subtotal),
        shipping=money(record.shipping),
        total=money(record.total),
        shipping_address=record.shipping_address,
        payment=PaymentOut(
            status=payment.status,
            provider=payment.provider,
            reference=payment.reference,
            amount=Money(amount=payment.amount, currency=payment.currency),
            decline_code=payment.decline_code,
        )
        if payment is not None
        else None,
        tracking_number=record.tracking_number,
        status_history=[
            StatusChangeOut(status=h.status, at=h.at, note=h.note, actor=h.actor)
            for h in record.history
        ],
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def order_json(record: OrderRecord) -> dict[str, Any]:
    """The order as the JSON document stored for Idempotency-Key replays."""
    return order_out(record).model_dump(mode="json")
