"""What the cart routes accept and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from empora_common.money import Money

# The per-line limit of the contract; strict, so "3" or 2.5 are refused rather than coerced.
LineQuantity = Annotated[int, Field(strict=True, ge=1, le=99)]
NewLineQuantity = Annotated[int, Field(strict=True, ge=0, le=99)]


class AddItemIn(BaseModel):
    product_id: uuid.UUID
    quantity: LineQuantity = 1


class SetQuantityIn(BaseModel):
    quantity: NewLineQuantity = Field(description="0 removes the line")


class MergeIn(BaseModel):
    cart_token: str | None = Field(
        None,
        max_length=256,
        description="The guest cart's token (defaults to the X-Cart-Token header)",
    )


class CartItemOut(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money
    available: int
    purchasable: bool


class CartOut(BaseModel):
    """A cart priced at current catalog prices."""

    id: uuid.UUID
    cart_token: str | None = Field(
        None, description="A guest cart's token (absent for a user's cart)"
    )
    items: list[CartItemOut]
    subtotal: Money
    item_count: int
    version: int
    updated_at: datetime | None


class LineIn(BaseModel):
    product_id: uuid.UUID
    quantity: Annotated[int, Field(strict=True, ge=0)]


class SubtractIn(BaseModel):
    order_id: uuid.UUID
    lines: Annotated[list[LineIn], Field(max_length=1000)]


class InternalLineOut(BaseModel):
    product_id: uuid.UUID
    quantity: int


class InternalCartOut(BaseModel):
    """A user's cart as the order service reads it: lines and the version it guards with."""

    id: uuid.UUID
    user_id: uuid.UUID
    version: int
    items: list[InternalLineOut]
    updated_at: datetime | None = None
