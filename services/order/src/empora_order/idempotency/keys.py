"""Idempotency-Key: the header's rules and the request fingerprint."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header

from empora_order.orders.errors import IdempotencyKeyInvalid, IdempotencyKeyMissing

MAX_KEY_LENGTH = 255


async def idempotency_key_header(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str:
    """The request's Idempotency-Key: required (400), at most 255 visible characters."""
    if key is None or not key.strip():
        raise IdempotencyKeyMissing("Send an Idempotency-Key header with every checkout")
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(
            f"The Idempotency-Key may be at most {MAX_KEY_LENGTH} characters long"
        )
    if not key.isprintable():
        raise IdempotencyKeyInvalid("The Idempotency-Key must be printable characters")
    return key


IdempotencyKey = Annotated[str, Depends(idempotency_key_header)]


def fingerprint(method: str, path: str, body: Any) -> str:
    """A digest of what the request asks for: the same key with another body is refused."""
    canonical = orjson.dumps(
        {"method": method, "path": path, "body": body}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()
