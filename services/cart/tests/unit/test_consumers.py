"""The registry of what the cart consumes."""

from __future__ import annotations

import pytest

from empora_cart.consumers import CartHandlers, subscriptions
from empora_common.messaging.envelope import Envelope


class TestSubscriptions:
    def test_queues_and_routing_keys_match_the_internal_api(self) -> None:
        subs = {s.queue: set(s.handlers) for s in subscriptions(CartHandlers())}

        assert subs == {"cart.orders": {"order.paid"}, "cart.products": {"product.updated"}}


class TestCartHandlers:
    async def test_refuse_to_run_before_start_up(self) -> None:
        envelope = Envelope.model_validate(
            {
                "id": "6f0c3f38-4c1c-4a43-9a4c-0d8d1a9f3c11",
                "type": "order.paid",
                "version": 1,
                "occurred_at": "2026-11-25T10:00:00Z",
                "producer": "order",
                "data": {
                    "order_id": "0b9a3c36-1a43-4f0e-9c55-3a1f9f6e7a10",
                    "number": "EMP-20261125-7K3QX9",
                    "user_id": "4c7d8a1e-2b3f-4a5b-8c9d-0e1f2a3b4c5d",
                    "customer_email": "a@example.com",
                    "reservation_id": "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
                    "lines": [],
                    "subtotal": {"amount": 0, "currency": "USD"},
                    "shipping": {"amount": 0, "currency": "USD"},
                    "total": {"amount": 0, "currency": "USD"},
                },
            }
        )

        with pytest.raises(RuntimeError):
            await CartHandlers().order_paid(None, envelope)
