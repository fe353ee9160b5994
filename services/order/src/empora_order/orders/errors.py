"""Errors of orders and checkout, each with its problem type."""

from __future__ import annotations

from typing import Any

from empora_common.errors import BadRequest, Conflict, EmporaError, NotFound, RateLimited


class OrderNotFound(NotFound):
    slug = "order-not-found"
    title = "Order not found"


class InvalidTransition(Conflict):
    slug = "invalid-transition"
    title = "Invalid status transition"


class OutOfStock(Conflict):
    slug = "out-of-stock"
    title = "Out of stock"

    def __init__(self, short_lines: list[dict[str, Any]]) -> None:
        super().__init__(
            "Some lines are not available in the requested quantity",
            extra={"short_lines": short_lines},
        )


class PriceChanged(Conflict):
    slug = "price-changed"
    title = "Price changed"

    def __init__(self, expected: int, actual: int, currency: str) -> None:
        super().__init__(
            f"The total is now {actual}, not the expected {expected}; nothing was charged",
            extra={
                "expected_total": {"amount": expected, "currency": currency},
                "total": {"amount": actual, "currency": currency},
            },
        )


class CartEmpty(EmporaError):
    status = 422
    slug = "cart-empty"
    title = "Cart is empty"


class CartCheckoutInProgress(Conflict):
    slug = "cart-checkout-in-progress"
    title = "This cart is already being checked out"


class IdempotencyKeyMissing(BadRequest):
    slug = "idempotency-key-missing"
    title = "Idempotency-Key header required"


class IdempotencyKeyInvalid(BadRequest):
    slug = "idempotency-key-invalid"
    title = "Invalid Idempotency-Key header"


class IdempotencyKeyInUse(Conflict):
    slug = "idempotency-key-in-use"
    title = "Idempotency key in use"


class IdempotencyKeyReused(EmporaError):
    status = 422
    slug = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


class TooManyDeclines(RateLimited):
    slug = "too-many-declines"
    title = "Too many declined payments"
