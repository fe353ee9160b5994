"""Event payloads by routing key. Change additively; a breaking change gets a new version."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class MoneyData(BaseModel):
    amount: int
    currency: str


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    def data(self) -> dict[str, Any]:
        """The envelope's ``data``."""
        return self.model_dump(mode="json")


# --- auth -------------------------------------------------------------------------------
class UserRegistered(_Event):
    """``user.registered``: a new account; carries the verification link."""

    user_id: str
    email: str
    first_name: str | None = None
    verification_url: str


class UserVerificationRequested(_Event):
    """``user.verification_requested``: a new verification link was asked for."""

    user_id: str
    email: str
    first_name: str | None = None
    verification_url: str


class UserPasswordResetRequested(_Event):
    """``user.password_reset_requested``: carries the reset link."""

    user_id: str
    email: str
    first_name: str | None = None
    reset_url: str


# --- product ----------------------------------------------------------------------------
class ProductUpdated(_Event):
    """``product.updated``: a product was created, changed or archived."""

    product_id: str
    changed: dict[str, Any]


class StockChanged(_Event):
    """``stock.changed``."""

    product_id: str
    on_hand: int
    reserved: int
    available: int
    reason: str


# --- order ------------------------------------------------------------------------------
class OrderLineData(BaseModel):
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: MoneyData
    line_total: MoneyData


class OrderCreated(_Event):
    """``order.created``."""

    order_id: str
    number: str
    user_id: str
    customer_email: str
    subtotal: MoneyData
    shipping: MoneyData
    total: MoneyData


class OrderPaid(_Event):
    """``order.paid``: consumers send the confirmation, clear the cart, commit the stock."""

    order_id: str
    number: str
    user_id: str
    customer_email: str
    reservation_id: str
    cart_id: str | None = None
    lines: list[OrderLineData]
    subtotal: MoneyData
    shipping: MoneyData
    total: MoneyData


class OrderPaymentFailed(_Event):
    """``order.payment_failed``: the product service releases the reservation."""

    order_id: str
    user_id: str
    reservation_id: str | None = None
    decline_code: str | None = None


class OrderShipped(_Event):
    """``order.shipped``."""

    order_id: str
    number: str
    customer_email: str
    tracking_number: str | None = None


class RefundData(BaseModel):
    amount: MoneyData
    reference: str | None = None
    status: str


class OrderCancelled(_Event):
    """``order.cancelled``: refund notice; the product service returns the stock."""

    order_id: str
    number: str
    user_id: str
    customer_email: str
    refund: RefundData | None = None
    lines: list[OrderLineData]


ROUTING_KEYS: dict[str, type[_Event]] = {
    "user.registered": UserRegistered,
    "user.verification_requested": UserVerificationRequested,
    "user.password_reset_requested": UserPasswordResetRequested,
    "product.updated": ProductUpdated,
    "stock.changed": StockChanged,
    "order.created": OrderCreated,
    "order.paid": OrderPaid,
    "order.payment_failed": OrderPaymentFailed,
    "order.shipped": OrderShipped,
    "order.cancelled": OrderCancelled,
}
