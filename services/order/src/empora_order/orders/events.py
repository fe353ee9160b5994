"""Integration events of orders, built from an order record (data of empora_contracts)."""

from __future__ import annotations

from typing import Any

from empora_contracts.events import (
    MoneyData,
    OrderCancelled,
    OrderCreated,
    OrderLineData,
    OrderPaid,
    OrderPaymentFailed,
    OrderShipped,
    RefundData,
)
from empora_order.orders.records import OrderRecord

ORDER_CREATED = "order.created"
ORDER_PAID = "order.paid"
ORDER_PAYMENT_FAILED = "order.payment_failed"
ORDER_SHIPPED = "order.shipped"
ORDER_CANCELLED = "order.cancelled"


def _money(amount: int, currency: str) -> MoneyData:
    return MoneyData(amount=amount, currency=currency)


def _lines(order: OrderRecord) -> list[OrderLineData]:
    return [
        OrderLineData(
            product_id=str(line.product_id),
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=_money(line.unit_price, order.currency),
            line_total=_money(line.line_total, order.currency),
        )
        for line in order.lines
    ]


def created(order: OrderRecord) -> dict[str, Any]:
    """``order.created``: the order exists, priced, awaiting payment."""
    return OrderCreated(
        order_id=str(order.id),
        number=order.number,
        user_id=str(order.user_id),
        customer_email=order.customer_email,
        subtotal=_money(order.subtotal, order.currency),
        shipping=_money(order.shipping, order.currency),
        total=_money(order.total, order.currency),
    ).data()


def paid(order: OrderRecord) -> dict[str, Any]:
    """``order.paid``: confirmation email, backup cart subtract and stock commit."""
    return OrderPaid(
        order_id=str(order.id),
        number=order.number,
        user_id=str(order.user_id),
        customer_email=order.customer_email,
        reservation_id=str(order.reservation_id),
        cart_id=str(order.cart_id) if order.cart_id else None,
        lines=_lines(order),
        subtotal=_money(order.subtotal, order.currency),
        shipping=_money(order.shipping, order.currency),
        total=_money(order.total, order.currency),
    ).data()


def payment_failed(order: OrderRecord, decline_code: str | None) -> dict[str, Any]:
    """``order.payment_failed``: the product service releases the reservation (backup)."""
    return OrderPaymentFailed(
        order_id=str(order.id),
        user_id=str(order.user_id),
        reservation_id=str(order.reservation_id),
        decline_code=decline_code,
        number=order.number,
        customer_email=order.customer_email,
    ).data()


def shipped(order: OrderRecord) -> dict[str, Any]:
    """``order.shipped``."""
    return OrderShipped(
        order_id=str(order.id),
        number=order.number,
        customer_email=order.customer_email,
        tracking_number=order.tracking_number,
        user_id=str(order.user_id),
    ).data()


def cancelled(
    order: OrderRecord, *, refund_amount: int, refund_reference: str | None, refund_status: str
) -> dict[str, Any]:
    """``order.cancelled``: refund notice; the product service returns the stock."""
    return OrderCancelled(
        order_id=str(order.id),
        number=order.number,
        user_id=str(order.user_id),
        customer_email=order.customer_email,
        refund=RefundData(
            amount=_money(refund_amount, order.currency),
            reference=refund_reference,
            status=refund_status,
        ),
        lines=_lines(order),
    ).data()
