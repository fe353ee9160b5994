"""``/internal/reservations`` and ``/internal/returns`` for the order service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from empora_common.db import ConnectionDep
from empora_common.responses import OrjsonResponse
from empora_common.security import InternalCaller
from empora_product.dependencies import Settings
from empora_product.stock import service
from empora_product.stock.schemas import ReservationIn, ReservationOut, ReturnIn, ReturnOut

router = APIRouter(prefix="/internal", tags=["internal"], dependencies=[InternalCaller])


@router.post(
    "/reservations",
    status_code=201,
    response_model=ReservationOut,
    summary="Reserve lines, all or nothing",
    responses={200: {"model": ReservationOut, "description": "the existing reservation"}},
)
async def reserve(body: ReservationIn, conn: ConnectionDep, settings: Settings) -> OrjsonResponse:
    """201 with a new reservation, 200 with the existing one; 409 out-of-stock otherwise."""
    out, created = await service.reserve(conn, body, settings.reservation_ttl_seconds)
    return OrjsonResponse(out, status_code=201 if created else 200)


@router.post(
    "/reservations/{reservation_id}/commit",
    response_model=ReservationOut,
    summary="Commit a reservation",
)
async def commit(reservation_id: uuid.UUID, conn: ConnectionDep) -> OrjsonResponse:
    """Stock leaves ``on_hand``; idempotent; re-reserves after expiry if the stock is there."""
    return OrjsonResponse(await service.commit(conn, reservation_id))


@router.post(
    "/reservations/{reservation_id}/release",
    response_model=ReservationOut,
    summary="Release a reservation",
)
async def release(reservation_id: uuid.UUID, conn: ConnectionDep) -> OrjsonResponse:
    """Give reserved stock back; idempotent; 409 once committed."""
    return OrjsonResponse(await service.release(conn, reservation_id))


@router.post("/returns", response_model=ReturnOut, summary="Return a cancelled order's stock")
async def return_stock(body: ReturnIn, conn: ConnectionDep) -> ReturnOut:
    """Put the stock back on hand; idempotent per order."""
    await service.return_stock(conn, body.order_id, body.lines)
    return ReturnOut(order_id=body.order_id, returned=True)
