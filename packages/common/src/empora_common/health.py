"""Health routes: live (the process), ready (its database), and details."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from empora_common.responses import OrjsonResponse

Check = Callable[[Any], Awaitable[None]]


@dataclass
class HealthChecks:
    """Named checks; ``critical`` ones make the service down, others make it degraded."""

    critical: dict[str, Check] = field(default_factory=dict)
    optional: dict[str, Check] = field(default_factory=dict)
    timeout: float = 1.0


async def check_database(state: Any) -> None:
    """The database answers a trivial query."""
    async with state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def check_redis(state: Any) -> None:
    """Redis answers PING."""
    await state.redis.ping()


async def check_broker(state: Any) -> None:
    """The outbox relay holds a broker connection."""
    relay = getattr(state, "relay", None)
    if relay is not None and not relay.connected:
        raise ConnectionError("broker not connected")
    consumers = getattr(state, "consumers", ()) or ()
    if not all(consumer.connected for consumer in consumers):
        raise ConnectionError("broker not connected")


async def _run(check: Check, state: Any, timeout: float) -> str:
    try:
        await asyncio.wait_for(check(state), timeout)
    except TimeoutError:
        return "timeout"
    except Exception:
        return "down"
    return "ok"


async def evaluate(checks: HealthChecks, state: Any, *, setup: bool = True) -> dict[str, Any]:
    """Run every check concurrently, each with the timeout (``setup``: also the ready check)."""
    started = time.perf_counter()
    names = [*checks.critical, *checks.optional]
    funcs = [*checks.critical.values(), *checks.optional.values()]
    results = await asyncio.gather(*(_run(f, state, checks.timeout) for f in funcs))
    outcome = dict(zip(names, results, strict=True))
    ready_extra = getattr(state, "ready_check", None) if setup else None
    if any(outcome[n] != "ok" for n in checks.critical):
        status = "down"
    elif any(outcome[n] != "ok" for n in checks.optional):
        status = "degraded"
    else:
        status = "ok"
    if ready_extra is not None and status == "ok":
        problem = await ready_extra(state)
        if problem:
            outcome["setup"] = problem
            status = "degraded"
    return {
        "status": status,
        "checks": outcome,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "checked_at": datetime.now(UTC).isoformat(),
    }


def health_router(checks: HealthChecks, service: str) -> APIRouter:
    """``/health``, ``/health/live`` and ``/health/ready``."""
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> OrjsonResponse:
        return OrjsonResponse({"status": "ok", "service": service})

    @router.get("/health/ready")
    async def ready(request: Request) -> OrjsonResponse:
        only_critical = HealthChecks(critical=checks.critical, timeout=checks.timeout)
        # Ready means "can serve" (its database answers), not "fully set up".
        result = await evaluate(only_critical, request.state, setup=False)
        code = 200 if result["status"] == "ok" else 503
        return OrjsonResponse({"service": service, **result}, status_code=code)

    @router.get("/health")
    async def details(request: Request) -> OrjsonResponse:
        result = await evaluate(checks, request.state)
        code = 503 if result["status"] == "down" else 200
        return OrjsonResponse({"service": service, **result}, status_code=code)

    return router
