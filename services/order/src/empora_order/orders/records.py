"""An order as the service holds it in memory (rows of several tables put together)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    DECLINED = "declined"
    REFUNDED = "refunded"
    FAILED = "failed"


@dataclass(slots=True)
class Line:
    """A line as sold: the price snapshot taken when the stock was reserved."""

    product_id: uuid.UUID
    sku: str
    name: str
    unit_price: int
    quantity: int

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(slots=True)
class HistoryEntry:
    status: str
    note: str | None
    actor: str
    at: datetime


@dataclass(slots=True)
class PaymentRecord:
    id: uuid.UUID
    attempt: int
    idempotency_key: str
    provider: str
    token: str
    amount: int
    currency: str
    status: str
    reference: str | None
    decline_code: str | None
    created_at: datetime
    updated_at: datetime
    captured_at: datetime | None = None


@dataclass(slots=True)
class OrderRecord:
    id: uuid.UUID
    number: str
    user_id: uuid.UUID
    customer_email: str
    status: str
    cart_id: uuid.UUID | None
    cart_version: int | None
    reservation_id: uuid.UUID
    requested_items: list[dict[str, Any]]
    currency: str
    subtotal: int
    shipping: int
    total: int
    shipping_address: dict[str, Any]
    tracking_number: str | None
    priced_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[Line] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    payment: PaymentRecord | None = None

    @property
    def requested_lines(self) -> list[dict[str, Any]]:
        """The cart lines to reserve, as the product service expects them."""
        return [
            {"product_id": str(item["product_id"]), "quantity": int(item["quantity"])}
            for item in self.requested_items
        ]
