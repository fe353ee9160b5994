"""The proxy against a real upstream, below the ASGI layer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

from starlette.types import Message

from empora_common.upstream import UpstreamPool
from empora_gateway.breaker import BreakerState, CircuitBreaker, RetryBudget
from empora_gateway.metrics import GatewayMetrics
from empora_gateway.proxy import Proxy

from ..standins import Upstreams


class TestProbeRelease:
    async def test_a_cancelled_probe_frees_the_half_open_slot(self, upstreams: Upstreams) -> None:
        metrics = GatewayMetrics()
        breaker = CircuitBreaker("product", threshold=1, open_seconds=0.01, metrics=metrics)
        proxy = Proxy(
            metrics=metrics,
            breakers={"product": breaker},
            budget=RetryBudget(0.2, 3),
            connect_timeout=1,
            backoff=(0.01, 0.02),
        )
        breaker.record_failure()
        time.sleep(0.02)
        assert breaker.state is BreakerState.HALF_OPEN
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        upstream = urlsplit(upstreams.servers["product"].url)
        pool = UpstreamPool(
            upstream.hostname or "", upstream.port or 80, limit=4, keepalive=4, connect_timeout=1
        )
        proxy.pools["product"] = pool
        try:
            task = asyncio.create_task(
                proxy.forward(
                    send,
                    service="product",
                    method="GET",
                    target=b"/api/products/sleep?seconds=1",
                    headers=[],
                    body=None,
                    timeout=5,
                    extra=[],
                    instance="/api/products/sleep",
                )
            )
            await asyncio.sleep(0.1)
            assert not breaker.allow()  # the probe is out
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await pool.close()
        assert sent == []
        assert breaker.allow()  # freed: the next request may probe
