"""Forwarding to an upstream: pooled keep-alive connections, streaming, retries, breakers."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping

import structlog
from starlette.types import Receive, Send

from empora_common.upstream import UpstreamConnection, UpstreamError, UpstreamPool
from empora_gateway.breaker import CircuitBreaker, RetryBudget
from empora_gateway.headers import API_CSP, CSP_NAME, STRIP_RESPONSE, Header
from empora_gateway.metrics import GatewayMetrics
from empora_gateway.problems import send_problem

log = structlog.get_logger("empora.gateway.proxy")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
RETRY_STATUSES = frozenset({502, 503, 504})


class ClientGone(Exception):
    """The client disconnected while we were reading its body."""


class ClientTooSlow(Exception):
    """The client stopped sending its body for longer than the body timeout."""


class StreamedBody:
    """The client's request body, streamed to the upstream chunk by chunk.

    It can be replayed for a retry only while nothing of it has been read yet.
    """

    __slots__ = ("error", "first", "length", "receive", "started", "timeout")

    def __init__(self, first: bytes, receive: Receive, timeout: float, length: int) -> None:
        self.first = first
        self.receive = receive
        self.timeout = timeout
        self.length = length
        self.started = False
        self.error: Exception | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        if self.first:
            yield self.first
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    message = await self.receive()
            except TimeoutError:
                self.error = ClientTooSlow()
                raise self.error from None
            if message["type"] == "http.disconnect":
                self.error = ClientGone()
                raise self.error
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


Body = bytes | StreamedBody | None


_FAILURE_ANSWERS: dict[str, tuple[int, str, str]] = {
    "connect": (503, "service-unavailable", "The {service} service is unavailable"),
    "timeout": (504, "gateway-timeout", "The {service} service did not answer in time"),
    "disconnect": (502, "bad-gateway", "The {service} service closed the connection"),
}


class Proxy:
    """Sends a request to an upstream and streams its answer back to the client."""

    def __init__(
        self,
        *,
        metrics: GatewayMetrics,
        breakers: Mapping[str, CircuitBreaker],
        budget: RetryBudget,
        connect_timeout: float,
        backoff: tuple[float, float],
    ) -> None:
        self.metrics = metrics
        self.breakers = breakers
        self.budget = budget
        self.connect_timeout = connect_timeout
        self.backoff = backoff
        self.pools: dict[str, UpstreamPool] = {}

    async def forward(
        self,
        send: Send,
        *,
        service: str,
        method: str,
        target: bytes,
        headers: list[Header],
        body: Body,
        timeout: float,
        extra: list[Header],
        instance: str,
    ) -> int:
        """Proxy one request; returns the status the client got (0 if it went away)."""
        breaker = self.breakers[service]
        if not breaker.allow():
            self.metrics.breaker_rejected.labels(service).inc()
            await send_problem(
                send,
                503,
                slug="upstream-unavailable",
                title="Service unavailable",
                detail=f"The {service} service is failing; try again later",
                headers=[*extra, (b"retry-after", str(breaker.retry_after()).encode())],
                instance=instance,
            )
            return 503
        probe = breaker.probing
        try:
            return await self._attempts(
                send,
                breaker=breaker,
                service=service,
                method=method,
                target=target,
                headers=headers,
                body=body,
                timeout=timeout,
                extra=extra,
                instance=instance,
            )
        except BaseException:
            # Cancelled or failed without a verdict: free the probe or the circuit would stay
            # half-open with nobody ever allowed to probe it again.
            if probe:
                breaker.release_probe()
            raise

    async def _attempts(
        self,
        send: Send,
        *,
        breaker: CircuitBreaker,
        service: str,
        method: str,
        target: bytes,
        headers: list[Header],
        body: Body,
        timeout: float,
        extra: list[Header],
        instance: str,
    ) -> int:
        pool = self.pools[service]
        self.budget.deposit()
        idempotent = method in IDEMPOTENT_METHODS
        loop_time = asyncio.get_running_loop().time
        deadline = loop_time() + timeout
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                resp = await pool.request(method, target, headers, body, deadline)
            except UpstreamError as exc:
                if isinstance(body, StreamedBody) and body.error is not None:
                    breaker.release_probe()
                    return await self._client_failed(send, body.error, extra, instance)
                kind = exc.kind
                breaker.record_failure()
                self.metrics.upstream_errors.labels(service, kind).inc()
                replayable = not (isinstance(body, StreamedBody) and body.started)
                retriable = (kind == "connect" and replayable) or (
                    kind == "disconnect" and idempotent
                )
                if (
                    attempt == 0
                    and retriable
                    and await self._retry_wait(deadline, loop_time, breaker, service)
                ):
                    attempt += 1
                    continue
                status, slug, detail = _FAILURE_ANSWERS[kind]
                log.warning("upstream_failed", upstream=service, kind=kind, error=str(exc))
                await send_problem(
                    send,
                    status,
                    slug=slug,
                    detail=detail.format(service=service),
                    headers=extra,
                    instance=instance,
                )
                return status
            self.metrics.observe_upstream(service, time.perf_counter() - started)
            status = resp.status
            if status >= 500:
                breaker.record_failure()
                if (
                    idempotent
                    and attempt == 0
                    and status in RETRY_STATUSES
                    and await self._retry_wait(deadline, loop_time, breaker, service)
                ):
                    resp.release()
                    attempt += 1
                    continue
            else:
                breaker.record_success()
            try:
                return await self._relay(send, resp, service, breaker, extra, instance)
            finally:
                resp.release()

    async def _retry_wait(
        self,
        deadline: float,
        loop_time: Callable[[], float],
        breaker: CircuitBreaker,
        service: str,
    ) -> bool:
        """Sleep the jittered backoff if a retry is allowed and time is left for it."""
        backoff = random.uniform(*self.backoff)
        if deadline - loop_time() <= backoff + 0.05:
            return False
        if not breaker.allow() or not self.budget.withdraw():
            return False
        self.metrics.retries.labels(service).inc()
        await asyncio.sleep(backoff)
        return deadline - loop_time() > 0.05

    async def _relay(
        self,
        send: Send,
        resp: UpstreamConnection,
        service: str,
        breaker: CircuitBreaker,
        extra: list[Header],
        instance: str,
    ) -> int:
        try:
            # Read the first chunk before answering, so a failure here can still be a 504/502.
            chunk = await resp.read()
        except UpstreamError as exc:
            breaker.record_failure()
            self.metrics.upstream_errors.labels(service, exc.kind).inc()
            status, slug, detail = _FAILURE_ANSWERS[exc.kind]
            await send_problem(
                send,
                status,
                slug=slug,
                detail=detail.format(service=service),
                headers=extra,
                instance=instance,
            )
            return status
        out: list[Header] = []
        has_csp = False
        for name, value in resp.headers:
            if name in STRIP_RESPONSE:
                continue
            if name == CSP_NAME:
                has_csp = True
            out.append((name, value))
        out.extend(extra)
        if not has_csp:
            out.append(API_CSP)
        status = resp.status
        await send({"type": "http.response.start", "status": status, "headers": out})
        try:
            while not resp.at_eof:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                chunk = await resp.read()
        except UpstreamError as exc:
            # Too late for an error answer: end the response without completing it, so
            # the client sees a broken transfer rather than a truncated body it trusts.
            breaker.record_failure()
            self.metrics.upstream_errors.labels(service, "body").inc()
            log.warning("upstream_body_failed", upstream=service, error=str(exc))
            return status
        await send({"type": "http.response.body", "body": chunk, "more_body": False})
        return status

    async def _client_failed(
        self, send: Send, error: Exception, extra: list[Header], instance: str
    ) -> int:
        if isinstance(error, ClientTooSlow):
            await send_problem(
                send,
                408,
                slug="request-timeout",
                title="Request timeout",
                detail="The request body was not received in time",
                headers=extra,
                instance=instance,
                close=True,
            )
            return 408
        return 0
