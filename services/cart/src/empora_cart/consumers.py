"""What the cart reacts to: one registry of event type -> handler per queue."""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from empora_cart.carts.service import CartService
from empora_common.messaging.consumer import Subscription
from empora_common.messaging.envelope import Envelope
from empora_contracts.events import OrderPaid, ProductUpdated

log = structlog.get_logger("empora.cart.consumers")


class CartHandlers:
    """Event handlers; the service is attached at start-up (nothing connects at import)."""

    def __init__(self) -> None:
        self.service: CartService | None = None

    def _service(self) -> CartService:
        if self.service is None:
            raise RuntimeError("the cart service is not started")
        return self.service

    async def order_paid(self, _session: Any, envelope: Envelope) -> None:
        """Backup of checkout's last step: take the bought lines off the cart.

        The cart has no database, so no inbox: the subtraction is idempotent by itself (its
        per-order marker), which makes a redelivery, or the order service's own call, harmless.
        """
        event = OrderPaid.model_validate(envelope.data)
        quantities: dict[uuid.UUID, int] = {}
        for line in event.lines:
            pid = uuid.UUID(line.product_id)
            quantities[pid] = quantities.get(pid, 0) + line.quantity
        await self._service().subtract_order(
            uuid.UUID(event.user_id), uuid.UUID(event.order_id), list(quantities.items())
        )

    async def product_updated(self, _session: Any, envelope: Envelope) -> None:
        """Carts keep no product data (every view asks the catalog), so nothing goes stale."""
        event = ProductUpdated.model_validate(envelope.data)
        log.debug("product_updated", product_id=event.product_id)


def subscriptions(handlers: CartHandlers) -> list[Subscription]:
    """The cart's consumer queues (see docs/internal-api.md)."""
    return [
        Subscription(queue="cart.orders", handlers={"order.paid": handlers.order_paid}),
        Subscription(queue="cart.products", handlers={"product.updated": handlers.product_updated}),
    ]
