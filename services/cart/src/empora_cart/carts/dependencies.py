"""Which cart a request addresses, and who the client is."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Header, Request

from empora_cart.carts.keys import CartRef
from empora_cart.carts.service import CartService
from empora_cart.settings import CartSettings, IPNetwork
from empora_common.security import OptionalUser

CART_TOKEN_HEADER = "X-Cart-Token"


async def get_cart_service(request: Request) -> CartService:
    """The service built at start-up."""
    service: CartService = request.state.cart_service
    return service


CartServiceDep = Annotated[CartService, Depends(get_cart_service)]


async def cart_ref(
    service: CartServiceDep,
    user: OptionalUser,
    cart_token: Annotated[str | None, Header(alias=CART_TOKEN_HEADER)] = None,
) -> CartRef | None:
    """The caller's cart: the user's when a bearer token is present (``X-Cart-Token`` is then
    ignored), else the guest cart the token names; None for a guest without a cart."""
    if user is not None:
        return service.for_user(user.user_id)
    if cart_token:
        return service.for_guest(cart_token)
    return None


CallerCart = Annotated[CartRef | None, Depends(cart_ref)]


def resolve_client_ip(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """The client's address: the socket's peer, unless the peer is a trusted proxy and sent
    ``X-Forwarded-For``; then the nearest hop that no trusted proxy accounts for."""
    if not peer:
        return "unknown"
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        try:
            address = ipaddress.ip_address(hop.strip())
        except ValueError:
            # Garbage where a proxy should have written an address: trust nothing further.
            return client
        client = str(address)
        if not any(address in network for network in trusted):
            return client
    return client


def _trusted(peer: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in trusted)


async def client_ip(request: Request) -> str:
    """The client's address as the guest-cart cap counts it."""
    settings: CartSettings = request.state.settings
    peer = request.client.host if request.client is not None else None
    return resolve_client_ip(
        peer, request.headers.get("x-forwarded-for"), settings.trusted_proxy_networks
    )


ClientIP = Annotated[str, Depends(client_ip)]
