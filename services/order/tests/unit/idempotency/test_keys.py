"""The Idempotency-Key header rules and the request fingerprint."""

from __future__ import annotations

import pytest

from empora_order.idempotency.keys import fingerprint, idempotency_key_header
from empora_order.orders.errors import IdempotencyKeyInvalid, IdempotencyKeyMissing


class TestIdempotencyKeyHeader:
    @pytest.mark.parametrize("missing", [None, "", "   "])
    async def test_missing_key_is_400(self, missing: str | None) -> None:
        with pytest.raises(IdempotencyKeyMissing) as caught:
            await idempotency_key_header(missing)
        assert caught.value.status == 400

    async def test_accepts_255_characters(self) -> None:
        assert await idempotency_key_header("k" * 255) == "k" * 255

    async def test_rejects_256_characters(self) -> None:
        with pytest.raises(IdempotencyKeyInvalid):
            await idempotency_key_header("k" * 256)


class TestFingerprint:
    def test_ignores_key_order(self) -> None:
        a = fingerprint("POST", "/api/orders", {"a": 1, "b": {"c": 2, "d": 3}})
        b = fingerprint("POST", "/api/orders", {"b": {"d": 3, "c": 2}, "a": 1})
        assert a == b

    def test_differs_with_the_body(self) -> None:
        assert fingerprint("POST", "/x", {"a": 1}) != fingerprint("POST", "/x", {"a": 2})

    def test_differs_with_the_route(self) -> None:
        assert fingerprint("POST", "/x", {}) != fingerprint("POST", "/y", {})
