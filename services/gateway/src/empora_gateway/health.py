"""``GET /api/health``: every service's ``/health`` at once, each with a short timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from empora_common.upstream import UpstreamError
from empora_gateway.breaker import CircuitBreaker

STATUSES = ("ok", "degraded", "down")

SelfCheck = Callable[[], Awaitable[dict[str, Any]]]
# (service, path) -> (status, body) of a GET to that service.
Fetch = Callable[[str, bytes], Awaitable[tuple[int, bytes]]]


class HealthAggregator:
    """Asks every upstream's ``/health`` concurrently; concurrent callers share one round."""

    def __init__(
        self,
        services: Iterable[str],
        *,
        fetch: Fetch,
        timeout: float,
        breakers: Mapping[str, CircuitBreaker],
        self_check: SelfCheck,
    ) -> None:
        self.services = list(services)
        self.fetch = fetch
        self.timeout = timeout
        self.breakers = breakers
        self.self_check = self_check
        self._inflight: asyncio.Future[tuple[int, dict[str, Any]]] | None = None

    async def aggregate(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of the platform's health."""
        if self._inflight is not None and not self._inflight.done():
            return await asyncio.shield(self._inflight)
        task = asyncio.ensure_future(self._aggregate())
        self._inflight = task
        return await asyncio.shield(task)

    async def _aggregate(self) -> tuple[int, dict[str, Any]]:
        names = self.services
        results = await asyncio.gather(self.self_check(), *(self.check_service(n) for n in names))
        services: dict[str, Any] = {"gateway": results[0]}
        for name, result in zip(names, results[1:], strict=True):
            services[name] = result
        failing = sorted(n for n, r in services.items() if r["status"] != "ok")
        if not failing:
            status = "ok"
        elif all(services[n]["status"] == "down" for n in names):
            status = "down"
        else:
            status = "degraded"
        body = {
            "status": status,
            "services": services,
            "failing": failing,
            "checked_at": datetime.now(UTC).isoformat(),
        }
        return (200 if status == "ok" else 503), body

    async def check_service(self, name: str) -> dict[str, Any]:
        """One service's health entry: status, latency and its own checks."""
        started = time.perf_counter()
        entry: dict[str, Any]
        try:
            async with asyncio.timeout(self.timeout):
                entry = await self._fetch(name)
        except TimeoutError:
            entry = {"status": "down", "checks": {}, "error": "timeout"}
        except UpstreamError as exc:
            error = "timeout" if exc.kind == "timeout" else "unreachable"
            entry = {"status": "down", "checks": {}, "error": error}
        entry["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        breaker = self.breakers.get(name)
        if breaker is not None:
            entry["circuit"] = breaker.state.value
        return entry

    async def _fetch(self, name: str) -> dict[str, Any]:
        code, raw = await self.fetch(name, b"/health")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            return {"status": "down", "checks": {}, "error": f"unexpected answer ({code})"}
        status = data.get("status")
        if status not in STATUSES:
            status = "ok" if code == 200 else "down"
        elif code >= 500 and status == "ok":
            status = "down"
        checks = data.get("checks")
        return {"status": status, "checks": checks if isinstance(checks, dict) else {}}
