"""The payment provider interface: capture, refund, look up, all idempotent per key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ChargeStatus(StrEnum):
    """What a provider did under a capture key."""

    CAPTURED = "captured"
    DECLINED = "declined"
    # Settled without a capture: a later capture under the same key captures nothing.
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """The outcome of a capture key at the provider."""

    status: ChargeStatus
    reference: str
    amount: int
    currency: str
    decline_code: str | None = None

    @property
    def captured(self) -> bool:
        return self.status is ChargeStatus.CAPTURED


@dataclass(frozen=True, slots=True)
class RefundResult:
    """A refund the provider accepted."""

    reference: str
    amount: int
    currency: str


class PaymentProvider(Protocol):
    """A card processor. Every operation is idempotent per its key."""

    name: str

    def validate_token(self, token: str) -> None:
        """Raise InvalidPaymentToken when the provider cannot charge this token."""

    async def capture(self, key: str, *, amount: int, currency: str, token: str) -> ChargeResult:
        """Capture (authorize and settle) an amount; the same key answers the same result."""

    async def lookup(self, key: str) -> ChargeResult | None:
        """What happened under a capture key, or None when the provider never saw it."""

    async def settle(self, key: str) -> ChargeResult:
        """The key's final result: its capture if one happened, else void it for good.

        Used by recovery: after ``settle`` no capture under the key can happen any more, so
        deciding "not captured" is safe even while a lost capture request is still in flight.
        """

    async def refund(
        self, key: str, *, charge_reference: str, amount: int, currency: str
    ) -> RefundResult:
        """Refund (part of) a capture; the same key answers the same refund."""
