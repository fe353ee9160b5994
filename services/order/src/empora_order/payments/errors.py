"""Errors of payments."""

from __future__ import annotations

import uuid

from empora_common.errors import EmporaError, UpstreamTimeout, ValidationFailed


class InvalidPaymentToken(ValidationFailed):
    """The provider cannot charge this token (422)."""

    def __init__(self, token: str) -> None:
        super().__init__(
            "The payment token is not accepted",
            errors=[{"field": "payment.token", "message": f"unknown payment token {token!r}"}],
        )


class PaymentDeclined(EmporaError):
    """The card was declined (402); the order is kept as payment_failed."""

    status = 402
    slug = "payment-declined"
    title = "Payment declined"

    def __init__(self, order_id: uuid.UUID, decline_code: str | None) -> None:
        super().__init__(
            f"The payment was declined ({decline_code or 'unknown reason'})",
            extra={"order_id": str(order_id), "decline_code": decline_code},
        )


class PaymentTimeout(UpstreamTimeout):
    """The provider did not answer in time and had not captured (504, not stored)."""

    slug = "payment-timeout"
    title = "Payment provider timeout"


class RefundFailed(EmporaError):
    """The provider refused a refund (502)."""

    status = 502
    slug = "refund-failed"
    title = "Refund failed"


class UnknownPaymentProvider(ValueError):
    """PAYMENT_PROVIDER names no provider (a configuration error at start-up)."""
