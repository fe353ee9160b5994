"""HTTP routes: the public cart (``/api/cart``) and the order service's (``/internal/carts``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, status

from empora_cart.carts.dependencies import (
    CART_TOKEN_HEADER,
    CallerCart,
    CartServiceDep,
    ClientIP,
)
from empora_cart.carts.repository import CartState
from empora_cart.carts.schemas import (
    AddItemIn,
    CartOut,
    InternalCartOut,
    MergeIn,
    SetQuantityIn,
    SubtractIn,
)
from empora_common.errors import ValidationFailed
from empora_common.responses import OrjsonResponse
from empora_common.security import CurrentUser, InternalCaller

router = APIRouter(prefix="/api/cart", tags=["cart"])
internal_router = APIRouter(
    prefix="/internal/carts", tags=["internal"], dependencies=[InternalCaller]
)

_CART_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Invalid bearer token"},
}


def cart_response(cart: CartOut, status_code: int = status.HTTP_200_OK) -> OrjsonResponse:
    """The cart as JSON; a guest's token rides along in the body and ``X-Cart-Token``."""
    body = cart.model_dump(mode="json")
    headers = {"Cache-Control": "no-store"}
    if cart.cart_token is None:
        del body["cart_token"]
    else:
        headers[CART_TOKEN_HEADER] = cart.cart_token
    return OrjsonResponse(body, status_code=status_code, headers=headers)


@router.get("", response_model=CartOut, responses=_CART_RESPONSES)
async def get_cart(service: CartServiceDep, cart: CallerCart) -> OrjsonResponse:
    """The caller's cart at current prices; never creates one."""
    return cart_response(await service.view(cart))


@router.post(
    "/items",
    response_model=CartOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **_CART_RESPONSES,
        404: {"description": "Unknown or inactive product"},
        409: {"description": "More than the available stock (``available``)"},
        422: {"description": "Quantity outside 1..99 per line, or more than 100 lines"},
        429: {"description": "Too many new guest carts from this address"},
    },
)
async def add_item(
    body: AddItemIn, service: CartServiceDep, cart: CallerCart, client_ip: ClientIP
) -> OrjsonResponse:
    """Add units of a product (to its line if there is one); a guest's first add creates
    the cart and its token."""
    result = await service.add_item(cart, body.product_id, body.quantity, client_ip=client_ip)
    return cart_response(result, status.HTTP_201_CREATED)


async def _existing_line(
    product_id: uuid.UUID, service: CartServiceDep, cart: CallerCart
) -> CartState:
    """The cart with the line a PATCH addresses: 404 for a line not in the cart comes before
    the body's 422."""
    return await service.require_line(cart, product_id)


@router.patch(
    "/items/{product_id}",
    response_model=CartOut,
    responses={
        **_CART_RESPONSES,
        404: {"description": "No such line, or raising an inactive product"},
        409: {"description": "More than the available stock (``available``)"},
    },
)
async def set_quantity(
    product_id: uuid.UUID,
    state: Annotated[CartState, Depends(_existing_line)],
    body: SetQuantityIn,
    service: CartServiceDep,
    cart: CallerCart,
) -> OrjsonResponse:
    """Set a line's quantity; 0 removes the line."""
    return cart_response(await service.set_quantity(cart, product_id, body.quantity, state))


@router.delete("/items/{product_id}", response_model=CartOut, responses=_CART_RESPONSES)
async def remove_item(
    product_id: uuid.UUID, service: CartServiceDep, cart: CallerCart
) -> OrjsonResponse:
    """Remove a line."""
    return cart_response(await service.remove_item(cart, product_id))


@router.delete("", response_model=CartOut, responses=_CART_RESPONSES)
async def clear_cart(service: CartServiceDep, cart: CallerCart) -> OrjsonResponse:
    """Remove every line."""
    return cart_response(await service.clear(cart))


@router.post(
    "/merge",
    response_model=CartOut,
    responses={401: {"description": "Not signed in"}, 422: {"description": "No token given"}},
)
async def merge(
    user: CurrentUser,
    service: CartServiceDep,
    body: MergeIn | None = None,
    header_token: Annotated[str | None, Header(alias=CART_TOKEN_HEADER)] = None,
) -> OrjsonResponse:
    """Merge a guest cart into the signed-in user's; merging again changes nothing."""
    token = (body.cart_token if body is not None else None) or header_token
    if not token:
        raise ValidationFailed(
            "Name the guest cart to merge",
            errors=[{"field": "cart_token", "message": "Field required"}],
        )
    return cart_response(await service.merge(service.for_user(user.user_id), token))


# The internal routes answer with their model dumped once: returning the model would have
# FastAPI validate it again against response_model and serialise it a second way.
@internal_router.get("/users/{user_id}", response_model=InternalCartOut)
async def read_user_cart(user_id: uuid.UUID, service: CartServiceDep) -> OrjsonResponse:
    """A user's lines and version (the order service guards checkout with them)."""
    return OrjsonResponse((await service.read_for_order(user_id)).model_dump(mode="json"))


@internal_router.post("/users/{user_id}/subtract", response_model=InternalCartOut)
async def subtract_order(
    user_id: uuid.UUID, body: SubtractIn, service: CartServiceDep
) -> OrjsonResponse:
    """Take an order's lines off the cart; idempotent per ``order_id``."""
    lines = [(line.product_id, line.quantity) for line in body.lines]
    cart = await service.subtract_order(user_id, body.order_id, lines)
    return OrjsonResponse(cart.model_dump(mode="json"))
