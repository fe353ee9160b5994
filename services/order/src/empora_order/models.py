"""Every table of the order schema, for Alembic (``migrations/env.py``)."""

from __future__ import annotations

from empora_order.database import SCHEMA, inbox, metadata, outbox
from empora_order.idempotency.models import idempotency_key
from empora_order.orders.models import order, order_line, status_history
from empora_order.payments.models import payment, refund, test_provider_charge

__all__ = [
    "SCHEMA",
    "idempotency_key",
    "inbox",
    "metadata",
    "order",
    "order_line",
    "outbox",
    "payment",
    "refund",
    "status_history",
    "test_provider_charge",
]
