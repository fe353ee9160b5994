"""``/api/orders`` reads and lifecycle routes (HTTP only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from empora_common.db import SessionDep
from empora_common.errors import ValidationFailed
from empora_common.pagination import Page, Pagination
from empora_common.security import AdminUser, CurrentUser
from empora_order.orders import repository, service
from empora_order.orders.dependencies import AdminOrder, OwnedOrder
from empora_order.orders.models import ORDER_STATUSES
from empora_order.orders.schemas import OrderOut, ShipIn, order_out
from empora_order.orders.service import Cancellations

router = APIRouter(prefix="/api/orders", tags=["orders"])


@router.get("", response_model=Page[OrderOut])
async def list_orders(
    user: CurrentUser,
    session: SessionDep,
    pagination: Pagination,
    status: Annotated[str | None, Query(description="filter by order status")] = None,
    user_id: Annotated[uuid.UUID | None, Query(description="admin: one user's orders")] = None,
) -> Page[OrderOut]:
    """The caller's orders, newest first; an admin sees all and may filter by user."""
    if status is not None and status not in ORDER_STATUSES:
        raise ValidationFailed(
            errors=[{"field": "status", "message": f"must be one of {', '.join(ORDER_STATUSES)}"}]
        )
    owner = user_id if user.is_admin else user.user_id
    records, total = await repository.page(
        session,
        repository.OrderFilter(user_id=owner, status=status),
        limit=pagination.limit,
        offset=pagination.offset,
    )
    return Page[OrderOut].build([order_out(r) for r in records], pagination, total)


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(order: OwnedOrder) -> OrderOut:
    """One order of the caller (404 for someone else's)."""
    return order_out(order)


@router.post("/{order_id}/cancel", response_model=OrderOut)
async def cancel_order(request: Request, order: OwnedOrder, user: CurrentUser) -> OrderOut:
    """Cancel before shipping: refund and return the stock; 409 after."""
    cancellations: Cancellations = request.state.cancellations
    return order_out(await cancellations.cancel(order, user))


@router.post("/{order_id}/ship", response_model=OrderOut)
async def ship_order(
    order: AdminOrder, admin: AdminUser, session: SessionDep, body: ShipIn | None = None
) -> OrderOut:
    """paid → shipped (admin), with an optional tracking number."""
    tracking = body.tracking_number if body is not None else None
    return order_out(await service.ship(session, order, admin, tracking or None))


@router.post("/{order_id}/deliver", response_model=OrderOut)
async def deliver_order(order: AdminOrder, admin: AdminUser, session: SessionDep) -> OrderOut:
    """shipped → delivered (admin)."""
    return order_out(await service.deliver(session, order, admin))
