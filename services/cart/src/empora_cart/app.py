"""The cart service: carts in Redis, priced from the product catalog."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from empora_cart.carts import router as carts_router
from empora_cart.carts.catalog import Catalog
from empora_cart.carts.keys import Keys
from empora_cart.carts.repository import CartStore
from empora_cart.carts.service import CartService
from empora_cart.consumers import CartHandlers, subscriptions
from empora_cart.settings import CartSettings
from empora_common.app import ServiceSpec, create_service_app
from empora_common.health import check_redis


def create_app(settings: CartSettings | None = None) -> FastAPI:
    """The cart app; nothing connects until its lifespan starts."""
    settings = settings or CartSettings()
    handlers = CartHandlers()

    async def on_startup(state: dict[str, Any]) -> None:
        store = CartStore(state["redis"], Keys(settings.redis_prefix))
        catalog = Catalog(
            state["http"], settings.product_url, timeout=settings.product_lookup_timeout
        )
        service = CartService(store, catalog, settings)
        state["cart_service"] = service
        handlers.service = service

    spec = ServiceSpec(
        settings=settings,
        title="Empora cart",
        description="Carts of users and guests, kept in Redis and priced from the catalog.",
        routers=[carts_router.router, carts_router.internal_router],
        uses_database=False,
        uses_redis=True,
        subscriptions=subscriptions(handlers),
        on_startup=on_startup,
        # Redis is the cart's primary store: without it the cart cannot serve.
        extra_checks={"redis": check_redis},
        openapi_tags=[
            {"name": "cart", "description": "The caller's cart (user or guest)"},
            {"name": "internal", "description": "For the order service; internal credential"},
        ],
    )
    return create_service_app(spec)
