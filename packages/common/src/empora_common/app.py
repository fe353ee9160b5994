"""The service application factory shared by every service: one place wires the plumbing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from redis.asyncio import Redis
from sqlalchemy import Table

from empora_common import tracing
from empora_common.db import create_engine, create_sessionmaker
from empora_common.errors import install_error_handlers
from empora_common.health import (
    HealthChecks,
    check_broker,
    check_database,
    check_redis,
    health_router,
)
from empora_common.http import InternalClient
from empora_common.logging import configure_logging
from empora_common.messaging.consumer import EventConsumer, Subscription
from empora_common.messaging.outbox import OutboxRelay
from empora_common.messaging.topology import Names
from empora_common.metrics import ServiceMetrics
from empora_common.middleware import RequestContextMiddleware
from empora_common.responses import OrjsonResponse
from empora_common.security import JWKS_PATH, TokenVerifier
from empora_common.settings import ServiceSettings

log = structlog.get_logger("empora.app")

StateHook = Callable[[dict[str, Any]], Awaitable[None]]
BackgroundLoop = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class ServiceSpec:
    """What a service adds to the shared plumbing."""

    settings: ServiceSettings
    title: str
    description: str
    routers: Sequence[APIRouter]
    version: str = "0.1.0"
    uses_database: bool = True
    uses_redis: bool = True
    outbox: Table | None = None
    inbox: Table | None = None
    subscriptions: Sequence[Subscription] = ()
    # Extra long-running loops (sweepers, senders), run only when settings.run_workers.
    background: Sequence[BackgroundLoop] = ()
    on_startup: StateHook | None = None
    on_shutdown: StateHook | None = None
    # Returns a reason when the service is up but not yet set up (e.g. no admin account).
    ready_check: Callable[[Any], Awaitable[str | None]] | None = None
    extra_checks: dict[str, Callable[[Any], Awaitable[None]]] = field(default_factory=dict)
    openapi_tags: list[dict[str, Any]] | None = None


def amqp_names(settings: ServiceSettings) -> Names:
    """Exchange/queue names for these settings."""
    return Names(settings.amqp_prefix)


def create_service_app(spec: ServiceSpec) -> FastAPI:
    """A FastAPI app with errors, middleware, health, metrics, auth and messaging wired."""
    settings = spec.settings
    metrics = ServiceMetrics(settings.service_name)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        # Tracing is per process: the app that turned it on turns it off.
        traces_here = tracing.configure_tracing(settings.service_name)
        state: dict[str, Any] = {
            "settings": settings,
            "metrics": metrics,
            "internal_token": settings.internal_api_token.get_secret_value(),
            "ready_check": spec.ready_check,
        }
        tasks: list[asyncio.Task[None]] = []
        if spec.uses_database:
            engine = create_engine(
                settings.database_url,
                pool_size=settings.db_pool_size,
                application_name=f"empora-{settings.service_name}",
            )
            state["engine"] = engine
            state["sessionmaker"] = create_sessionmaker(engine)
        redis: Redis | None = None
        if spec.uses_redis:
            redis = Redis.from_url(
                settings.redis_url,
                decode_responses=True,
                socket_timeout=2,
                socket_connect_timeout=2,
                health_check_interval=30,
            )
            state["redis"] = redis
        verifier = TokenVerifier(
            jwks_url=settings.auth_url.rstrip("/") + JWKS_PATH,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            redis=redis,
            redis_prefix=settings.redis_prefix,
        )
        state["token_verifier"] = verifier
        state["http"] = InternalClient(settings.internal_api_token.get_secret_value())
        if spec.on_startup is not None:
            await spec.on_startup(state)
        names = amqp_names(settings)
        state["relay"] = None
        state["consumers"] = []
        if settings.run_workers and spec.outbox is not None and spec.uses_database:
            relay = OutboxRelay(
                engine=state["engine"],
                database_url=settings.database_url,
                outbox=spec.outbox,
                inbox=spec.inbox,
                amqp_url=settings.amqp_url,
                producer=settings.service_name,
                names=names,
                poll_interval=settings.outbox_poll_interval,
                outbox_retention=timedelta(hours=settings.outbox_retention_hours),
                inbox_retention=timedelta(hours=settings.inbox_retention_hours),
                metrics=metrics,
            )
            state["relay"] = relay
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        if settings.run_workers:
            for sub in spec.subscriptions:
                consumer = EventConsumer(
                    subscription=sub,
                    sessionmaker=state.get("sessionmaker"),
                    inbox=spec.inbox,
                    amqp_url=settings.amqp_url,
                    names=names,
                    delivery_limit=settings.consumer_delivery_limit,
                    metrics=metrics,
                )
                state["consumers"].append(consumer)
                tasks.append(asyncio.create_task(consumer.start(), name=f"consumer-{sub.queue}"))
        if settings.run_workers:
            for loop_fn in spec.background:
                tasks.append(asyncio.create_task(_guarded(loop_fn, state), name=loop_fn.__name__))
        log.info("service_started", port=settings.port)
        try:
            yield state
        finally:
            if state.get("relay") is not None:
                await state["relay"].stop()
            for consumer in state["consumers"]:
                await consumer.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            if spec.on_shutdown is not None:
                await spec.on_shutdown(state)
            await state["http"].close()
            await verifier.close()
            if redis is not None:
                await redis.aclose()
            if spec.uses_database:
                await state["engine"].dispose()
            if traces_here:
                tracing.shutdown_tracing()

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        openapi_tags=spec.openapi_tags,
    )
    install_error_handlers(app)
    checks = HealthChecks(timeout=settings.health_check_timeout)
    if spec.uses_database:
        checks.critical["database"] = check_database
    if spec.uses_redis:
        # Redis is critical where it is the primary store (cart), optional elsewhere.
        checks.optional["redis"] = check_redis
    if spec.outbox is not None or spec.subscriptions:
        checks.optional["broker"] = check_broker
    for name, check in spec.extra_checks.items():
        checks.critical[name] = check
    app.include_router(health_router(checks, settings.service_name))
    app.add_route("/metrics", metrics.endpoint, include_in_schema=False)
    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes
    )
    app.state.health_checks = checks
    return app


async def _guarded(loop_fn: BackgroundLoop, state: dict[str, Any]) -> None:
    """Run a background loop forever, restarting it after an unexpected error."""
    while True:
        try:
            await loop_fn(state)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background_loop_failed", loop=loop_fn.__name__)
            await asyncio.sleep(1.0)
