"""The product service application."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request

from empora_common.app import ServiceSpec, create_service_app
from empora_common.db import plain_database_url
from empora_common.errors import problem_response
from empora_common.responses import ProblemResponse
from empora_product import consumers, models
from empora_product.cache import CatalogCache
from empora_product.categories.router import router as categories_router
from empora_product.products import repository as product_repo
from empora_product.products.internal import router as lookup_router
from empora_product.products.router import router as products_router
from empora_product.settings import ProductSettings
from empora_product.stock.internal import router as reservations_router
from empora_product.stock.router import router as stock_router
from empora_product.stock.sweeper import reservation_sweeper

log = structlog.get_logger("empora.product.app")

# Failures to reach the database: a 503 the client may retry, not a 500.
DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
)

DESCRIPTION = (
    "Catalog (products, category tree, ranked typo-tolerant search), stock with its movement "
    "history, and the reservations the order service checks out with."
)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """No reset on release: these connections never change session state, and asyncpg's
    default reset is one more round trip per query (an open transaction is still rolled back
    on release: asyncpg does that before calling this)."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


def create_app(settings: ProductSettings | None = None) -> FastAPI:
    """The product service (settings from the environment unless given)."""
    settings = settings or ProductSettings()

    async def on_startup(state: dict[str, Any]) -> None:
        # The hot paths go straight to asyncpg: public reads (no ORM, no transaction) and the
        # checkout's reservations (plain SQL in one transaction, ConnectionDep).
        # min_size=0: nothing connects until the first request (a database outage at boot
        # leaves the service up and not ready, instead of crashing it).
        state["pool"] = await asyncpg.create_pool(
            plain_database_url(settings.database_url),
            min_size=0,
            max_size=settings.db_pool_size,
            init=_init_connection,
            reset=_keep_session,
            server_settings={
                "application_name": "empora-product-fast",
                "pg_trgm.word_similarity_threshold": str(settings.search_similarity_threshold),
            },
        )
        state["catalog_cache"] = CatalogCache(
            state.get("redis"),
            settings.redis_prefix,
            ttl_seconds=settings.cache_ttl_seconds,
            enabled=settings.cache_enabled,
        )

    async def on_shutdown(state: dict[str, Any]) -> None:
        await state["pool"].close()

    async def ready_check(state: Any) -> str | None:
        if not await product_repo.catalog_has_products(state.pool):
            return "the catalog is empty (run `empora seed`)"
        return None

    spec = ServiceSpec(
        settings=settings,
        title="Empora product service",
        description=DESCRIPTION,
        routers=[
            products_router,
            stock_router,
            categories_router,
            lookup_router,
            reservations_router,
        ],
        outbox=models.outbox,
        inbox=models.inbox,
        subscriptions=[consumers.subscription],
        background=[reservation_sweeper],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        ready_check=ready_check,
        openapi_tags=[
            {"name": "products", "description": "Catalog listing, search and administration"},
            {"name": "stock", "description": "Stock levels and movement history (admin)"},
            {"name": "categories", "description": "The category tree"},
            {"name": "internal", "description": "Service-to-service routes (never proxied)"},
        ],
    )
    app = create_service_app(spec)
    for outage in DATABASE_OUTAGES:
        app.add_exception_handler(outage, _database_unavailable)
    return app


async def _database_unavailable(request: Request, exc: Exception) -> ProblemResponse:
    log.warning("database_unavailable", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(
        503,
        detail="The catalog database is unavailable; try again shortly",
        instance=request.url.path,
        headers={"Retry-After": "1"},
    )
