"""Forwarding to an upstream: pooled aiohttp, streaming, retries, breaker verdicts."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import structlog
from starlette.types import Receive, Send
from yarl import URL

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


def _failure_kind(exc: BaseException) -> str:
    """connect (nothing reached the upstream), timeout, or disconnect."""
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return "connect"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "disconnect"


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
        self.session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _timeout(self, total: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(total)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=total, sock_connect=self.connect_timeout)
            if len(self._timeouts) < 64:
                self._timeouts[total] = timeout
        return timeout

    async def forward(
        self,
        send: Send,
        *,
        service: str,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
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
                url=url,
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
        url: str,
        headers: list[tuple[str, str]],
        body: Body,
        timeout: float,
        extra: list[Header],
        instance: str,
    ) -> int:
        session = self.session
        assert session is not None, "the gateway has not started"
        self.budget.deposit()
        idempotent = method in IDEMPOTENT_METHODS
        target = URL(url, encoded=True)
        loop_time = asyncio.get_running_loop().time
        deadline = loop_time() + timeout
        client_timeout = self._timeout(timeout)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                resp = await session.request(
                    method,
                    target,
                    headers=headers,
                    data=body,
                    timeout=client_timeout,
                    allow_redirects=False,
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                if isinstance(body, StreamedBody) and body.error is not None:
                    breaker.release_probe()
                    return await self._client_failed(send, body.error, extra, instance)
                kind = _failure_kind(exc)
                breaker.record_failure()
                self.metrics.upstream_errors.labels(service, kind).inc()
                replayable = not (isinstance(body, StreamedBody) and body.started)
                retriable = (kind == "connect" and replayable) or (
                    kind == "disconnect" and idempotent
                )
                if attempt == 0 and retriable:
                    remaining = await self._retry_wait(deadline, loop_time, breaker, service)
                    if remaining is not None:
                        attempt += 1
                        client_timeout = aiohttp.ClientTimeout(
                            total=remaining, sock_connect=self.connect_timeout
                        )
                        continue
                status, slug, detail = _FAILURE_ANSWERS[kind]
                log.warning(
                    "upstream_failed", upstream=service, kind=kind, error=type(exc).__name__
                )
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
                if idempotent and attempt == 0 and status in RETRY_STATUSES:
                    remaining = await self._retry_wait(deadline, loop_time, breaker, service)
                    if remaining is not None:
                        resp.release()
                        attempt += 1
                        client_timeout = aiohttp.ClientTimeout(
                            total=remaining, sock_connect=self.connect_timeout
                        )
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
        loop_time: Any,
        breaker: CircuitBreaker,
        service: str,
    ) -> float | None:
        """Sleep the jittered backoff if a retry is allowed; the time left, else None."""
        backoff = random.uniform(*self.backoff)
        if deadline - loop_time() <= backoff + 0.05:
            return None
        if not breaker.allow() or not self.budget.withdraw():
            return None
        self.metrics.retries.labels(service).inc()
        await asyncio.sleep(backoff)
        remaining = deadline - loop_time()
        return remaining if remaining > 0.05 else None

    async def _relay(
        self,
        send: Send,
        resp: aiohttp.ClientResponse,
        service: str,
        breaker: CircuitBreaker,
        extra: list[Header],
        instance: str,
    ) -> int:
        content = resp.content
        try:
            # Read the first chunk before answering, so a failure here can still be a 504/502.
            chunk = await content.readany()
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = "timeout" if isinstance(exc, TimeoutError) else "disconnect"
            breaker.record_failure()
            self.metrics.upstream_errors.labels(service, kind).inc()
            status, slug, detail = _FAILURE_ANSWERS[kind]
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
        for name, value in resp.raw_headers:
            name = name.lower()
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
            while not content.at_eof():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                chunk = await content.readany()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Too late for an error answer: end the response without completing it, so
            # the client sees a broken transfer rather than a truncated body it trusts.
            breaker.record_failure()
            self.metrics.upstream_errors.labels(service, "body").inc()
            log.warning("upstream_body_failed", upstream=service, error=type(exc).__name__)
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
