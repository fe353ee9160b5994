"""Small identifier helpers: order numbers and email normalisation."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

# Crockford-like alphabet without look-alikes (0/O, 1/I/L).
_ORDER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def generate_order_number(now: datetime | None = None) -> str:
    """An order number like ``EMP-20261125-7K3QX9``."""
    day = (now or datetime.now(UTC)).strftime("%Y%m%d")
    suffix = "".join(secrets.choice(_ORDER_ALPHABET) for _ in range(6))
    return f"EMP-{day}-{suffix}"


def normalize_email(email: str) -> str:
    """Emails are compared over the whole address, trimmed and lower-cased."""
    return email.strip().lower()
