"""Dependencies that load an order the caller may act on."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from empora_common.db import SessionDep
from empora_common.security import AdminUser, CurrentUser
from empora_order.orders import service
from empora_order.orders.errors import OrderNotFound
from empora_order.orders.records import OrderRecord


def _order_id(order_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(order_id)
    except ValueError:
        raise OrderNotFound(f"No order {order_id}") from None


async def owned_order(order_id: str, user: CurrentUser, session: SessionDep) -> OrderRecord:
    """The order of the caller (or any order for an admin)."""
    return await service.owned_order(session, _order_id(order_id), user)


async def admin_order(order_id: str, admin: AdminUser, session: SessionDep) -> OrderRecord:
    """Any order, for an admin (403 for others, before looking)."""
    return await service.owned_order(session, _order_id(order_id), admin)


OwnedOrder = Annotated[OrderRecord, Depends(owned_order)]
AdminOrder = Annotated[OrderRecord, Depends(admin_order)]
