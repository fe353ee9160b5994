"""``POST /api/orders``: checkout (HTTP only; the rules live in checkout.service)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from empora_common.responses import OrjsonResponse, ProblemResponse
from empora_common.security import VerifiedUser
from empora_order.checkout.service import CheckoutService
from empora_order.idempotency.keys import IdempotencyKey, fingerprint
from empora_order.orders.schemas import CheckoutIn, OrderOut

router = APIRouter(tags=["orders"])

REPLAYED_HEADER = "Idempotent-Replayed"


@router.post(
    "/api/orders",
    status_code=201,
    response_model=OrderOut,
    responses={
        400: {"description": "No Idempotency-Key header"},
        402: {"description": "Payment declined (order_id, decline_code)"},
        403: {"description": "Email not verified"},
        409: {"description": "Out of stock, price changed, key or cart in use"},
        422: {"description": "Invalid body, empty cart, key reused with another body"},
        429: {"description": "Too many declined payments"},
    },
)
async def place_order(
    request: Request, user: VerifiedUser, key: IdempotencyKey, body: CheckoutIn
) -> Response:
    """Check out the caller's cart: reserve, capture, and answer the paid order."""
    checkout: CheckoutService = request.state.checkout
    digest = fingerprint("POST", "/api/orders", body.model_dump(mode="json"))
    outcome = await checkout.place(user, key, body, digest)
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else {}
    if outcome.status >= 400:
        return ProblemResponse(outcome.body, status_code=outcome.status, headers=headers)
    return OrjsonResponse(outcome.body, status_code=outcome.status, headers=headers)
