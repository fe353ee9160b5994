"""The built-in ``test`` provider: a card processor's test mode with its books in PostgreSQL.

Its ledger (``test_provider_charge``) is written in the provider's own transactions, never in
the order's, like a real processor's: so a lookup after an order-service crash tells the truth.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from empora_common.db import PlainStatement, plain_connection
from empora_order.payments.errors import InvalidPaymentToken, RefundFailed
from empora_order.payments.models import test_provider_charge as ledger
from empora_order.payments.provider import ChargeResult, ChargeStatus, RefundResult

SUCCEEDING_TOKENS = frozenset({"tok_visa", "tok_mastercard"})
DECLINING_TOKENS: dict[str, str] = {
    "tok_chargeDeclined": "card_declined",
    "tok_insufficientFunds": "insufficient_funds",
}


def _reference(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def _charge(row: Any) -> ChargeResult:
    """A ledger row (asyncpg record or SQLAlchemy row mapping) as the provider's answer."""
    return ChargeResult(
        status=ChargeStatus(row["status"]),
        reference=row["reference"],
        amount=row["amount"],
        currency=row["currency"],
        decline_code=row["decline_code"],
    )


# Booking a key is on every checkout's path: prebuilt, one statement each, run on a plain
# connection (each commits by itself, like a processor's own books).
_BOOK = PlainStatement(
    insert(ledger)
    .values({c.name: bindparam(f"b_{c.name}", type_=c.type) for c in ledger.c})
    .on_conflict_do_nothing()
    .returning(*ledger.c)
)
_BOOKED = PlainStatement(
    select(ledger).where(ledger.c.idempotency_key == bindparam("b_idempotency_key", type_=Text))
)


class TestProvider:
    """Test cards: ``tok_visa``/``tok_mastercard`` succeed, two decline, others are invalid."""

    __test__ = False  # not a pytest class
    name = "test"

    def __init__(self, engine: AsyncEngine, *, delay_after_capture: float = 0.0) -> None:
        self._engine = engine
        # Fault injection: answer this much later after a capture was booked.
        self._delay_after_capture = delay_after_capture

    def validate_token(self, token: str) -> None:
        """Only the contract's test tokens exist."""
        if token not in SUCCEEDING_TOKENS and token not in DECLINING_TOKENS:
            raise InvalidPaymentToken(token)

    async def _book(self, values: dict[str, Any]) -> tuple[Any, bool]:
        """Insert a ledger row unless the key exists; (the key's row, whether it is new)."""
        params = {f"b_{c.name}": values.get(c.name) for c in ledger.c}
        async with plain_connection(self._engine) as db:
            row = await _BOOK.fetchrow(db, params)
            if row is not None:
                return row, True
            existing = await _BOOKED.fetchrow(db, params)
        assert existing is not None  # the conflicting row: ledger rows are never deleted
        return existing, False

    async def capture(self, key: str, *, amount: int, currency: str, token: str) -> ChargeResult:
        """Capture with a test token; the same key answers the booked result."""
        self.validate_token(token)
        decline_code = DECLINING_TOKENS.get(token)
        row, created = await self._book(
            {
                "idempotency_key": key,
                "kind": "capture",
                "status": ChargeStatus.DECLINED if decline_code else ChargeStatus.CAPTURED,
                "amount": amount,
                "currency": currency,
                "token": token,
                "reference": _reference("ch"),
                "decline_code": decline_code,
                "created_at": datetime.now(UTC),
            }
        )
        if created and row["status"] == ChargeStatus.CAPTURED and self._delay_after_capture:
            await asyncio.sleep(self._delay_after_capture)
        return _charge(row)

    async def lookup(self, key: str) -> ChargeResult | None:
        """The booked result of a capture key, if any."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(ledger).where(
                        ledger.c.idempotency_key == key, ledger.c.kind == "capture"
                    )
                )
            ).first()
        return _charge(row._mapping) if row is not None else None

    async def settle(self, key: str) -> ChargeResult:
        """The capture under the key if there is one; else the key is voided for good."""
        row, _ = await self._book(
            {
                "idempotency_key": key,
                "kind": "capture",
                "status": ChargeStatus.VOIDED,
                "amount": 0,
                "currency": "",
                "token": None,
                "reference": _reference("void"),
                "decline_code": None,
                "created_at": datetime.now(UTC),
            }
        )
        return _charge(row)

    async def refund(
        self, key: str, *, charge_reference: str, amount: int, currency: str
    ) -> RefundResult:
        """Refunds of captures succeed; the same key answers the same refund."""
        async with self._engine.connect() as conn:
            charge = (
                await conn.execute(
                    select(ledger.c.status, ledger.c.amount).where(
                        ledger.c.reference == charge_reference
                    )
                )
            ).first()
        if charge is None or charge.status != ChargeStatus.CAPTURED or amount > charge.amount:
            raise RefundFailed("The provider has no capture to refund under that reference")
        row, _ = await self._book(
            {
                "idempotency_key": key,
                "kind": "refund",
                "status": "refunded",
                "amount": amount,
                "currency": currency,
                "token": None,
                "reference": _reference("re"),
                "decline_code": None,
                "charge_reference": charge_reference,
                "created_at": datetime.now(UTC),
            }
        )
        return RefundResult(
            reference=row["reference"], amount=row["amount"], currency=row["currency"]
        )
