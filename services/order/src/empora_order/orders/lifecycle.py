"""The order lifecycle: every status change is checked here and nowhere else."""

from __future__ import annotations

from empora_order.orders.errors import InvalidTransition
from empora_order.orders.records import OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.PAYMENT_FAILED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.PAYMENT_FAILED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def can_transition(current: str, target: OrderStatus) -> bool:
    """True when the lifecycle allows going from ``current`` to ``target``."""
    return target in TRANSITIONS.get(OrderStatus(current), frozenset())


def ensure_transition(current: str, target: OrderStatus) -> None:
    """Raise InvalidTransition (409) unless the lifecycle allows the change."""
    if not can_transition(current, target):
        raise InvalidTransition(
            f"An order in status '{current}' cannot become '{target}'",
            extra={"current_status": current, "requested_status": str(target)},
        )
