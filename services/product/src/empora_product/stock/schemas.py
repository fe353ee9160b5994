"""Request and response bodies of the stock slice (admin stock, reservations, returns)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from empora_common.money import Money
from empora_common.text import CleanText

MAX_QUANTITY = 1_000_000_000


class StockLevels(BaseModel):
    """``{"on_hand", "reserved", "available"}`` (plus the product id)."""

    product_id: uuid.UUID
    on_hand: int
    reserved: int
    available: int


class StockSet(BaseModel):
    """``PUT /api/products/{id}/stock``."""

    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=0, le=MAX_QUANTITY, strict=True)


class StockAdjustment(BaseModel):
    """``POST /api/products/{id}/stock/adjustments``: a relative change with its reason."""

    model_config = ConfigDict(extra="forbid")

    delta: int = Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, strict=True)
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
        CleanText,
    ]
    reference: Annotated[str, StringConstraints(max_length=200), CleanText] | None = None


class StockMovementOut(BaseModel):
    id: int
    product_id: uuid.UUID
    kind: str
    delta: int
    reason: str
    reference: str | None
    on_hand_after: int
    reserved_after: int
    actor_id: uuid.UUID | None
    created_at: str


class Line(BaseModel):
    product_id: uuid.UUID
    quantity: int = Field(ge=1, le=100_000)


class ReservationIn(BaseModel):
    """``POST /internal/reservations``."""

    reservation_id: uuid.UUID
    order_id: uuid.UUID | None = None
    lines: list[Line] = Field(min_length=1, max_length=200)
    ttl_seconds: int | None = Field(None, ge=1, le=7 * 24 * 3600)


class ReservedLine(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    quantity: int
    unit_price: Money


class ReservationOut(BaseModel):
    reservation_id: uuid.UUID
    order_id: uuid.UUID | None
    status: Literal["active", "committed", "released", "expired"]
    expires_at: str
    lines: list[ReservedLine]


class ReturnIn(BaseModel):
    """``POST /internal/returns``."""

    order_id: uuid.UUID
    lines: list[Line] = Field(min_length=1, max_length=200)


class ReturnOut(BaseModel):
    order_id: uuid.UUID
    returned: bool
