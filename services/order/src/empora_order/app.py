"""The order service: checkout, orders, payments."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from empora_common.app import ServiceSpec, create_service_app
from empora_order.checkout import router as checkout_router
from empora_order.checkout.clients import CartClient, ProductClient
from empora_order.checkout.reconciler import reconciler_loop
from empora_order.checkout.service import CheckoutService
from empora_order.database import inbox, outbox
from empora_order.orders import router as orders_router
from empora_order.orders.service import Cancellations
from empora_order.payments.registry import build_provider, check_provider
from empora_order.settings import OrderSettings


def create_app(settings: OrderSettings | None = None) -> FastAPI:
    """The order service's app; nothing connects before the lifespan starts."""
    settings = settings or OrderSettings()
    check_provider(settings)

    async def on_startup(state: dict[str, Any]) -> None:
        provider = build_provider(settings, state["engine"])
        timeout = settings.upstream_timeout_seconds
        products = ProductClient(state["http"], settings.product_url, timeout)
        carts = CartClient(state["http"], settings.cart_url, timeout)
        state["checkout"] = CheckoutService(
            settings=settings,
            sessionmaker=state["sessionmaker"],
            provider=provider,
            products=products,
            carts=carts,
        )
        state["cancellations"] = Cancellations(state["sessionmaker"], provider, products)

    return create_service_app(
        ServiceSpec(
            settings=settings,
            title="Empora order service",
            description="Checkout with idempotency keys, orders and their lifecycle, payments.",
            routers=[checkout_router.router, orders_router.router],
            outbox=outbox,
            inbox=inbox,
            background=[reconciler_loop],
            on_startup=on_startup,
            openapi_tags=[{"name": "orders", "description": "Checkout and orders"}],
        )
    )
