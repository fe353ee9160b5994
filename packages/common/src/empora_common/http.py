"""Service-to-service HTTP with the internal credential, over keep-alive upstream pools."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import orjson

from empora_common import tracing, upstream
from empora_common.constants import INTERNAL_TOKEN_HEADER
from empora_common.errors import UpstreamTimeout, UpstreamUnavailable
from empora_common.logging import current_request_id

INTERNAL_TOKEN_HEADER_BYTES = INTERNAL_TOKEN_HEADER.lower().encode()
# What may stay unescaped when a target with non-ASCII characters is percent-encoded.
_SAFE = "/?&=%:@!$'()*+,;~-._"


class UpstreamResponse:
    """Status and decoded JSON body of an internal call."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body


class InternalClient:
    """Calls ``/internal/...`` routes of other services; propagates the request id.

    One keep-alive pool per ``http://host:port`` (services talk plain HTTP inside the
    cluster), created on first use in the running event loop.
    """

    def __init__(
        self,
        internal_token: str,
        *,
        timeout: float = 10.0,
        limit: int = 100,
        keepalive: float = 4.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self._token = internal_token.encode()
        self._timeout = timeout
        self._limit = limit
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._pools: dict[str, upstream.UpstreamPool] = {}

    def _route(self, url: str) -> tuple[upstream.UpstreamPool, bytes]:
        if not url.startswith("http://"):
            raise ValueError(f"internal calls are plain http:// URLs, not {url!r}")
        rest = url[7:]
        slash = rest.find("/")
        origin, target = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = upstream.UpstreamPool.for_url(
                url,
                limit=self._limit,
                keepalive=self._keepalive,
                connect_timeout=self._connect_timeout,
            )
        try:
            return pool, target.encode("ascii")
        except UnicodeEncodeError:
            return pool, quote(target, safe=_SAFE).encode("ascii")

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> UpstreamResponse:
        """Send one request; 503/504 problems when the service cannot be reached in time."""
        pool, target = self._route(url)
        hdrs = [(INTERNAL_TOKEN_HEADER_BYTES, self._token)]
        rid = current_request_id()
        if rid:
            hdrs.append((b"x-request-id", rid.encode()))
        if headers:
            hdrs.extend((k.encode(), v.encode()) for k, v in headers.items())
        body: bytes | None = None
        if json is not None:
            body = orjson.dumps(json)
            hdrs.append((b"content-type", b"application/json"))
        deadline = asyncio.get_running_loop().time() + (timeout or self._timeout)
        if tracing.enabled():
            with tracing.client_span(
                method, {"http.request.method": method, "url.full": url}
            ) as span:
                hdrs.extend(tracing.trace_headers())
                status, raw = await self._fetch(pool, method, target, hdrs, body, deadline)
                span.set_attribute("http.response.status_code", status)
        else:
            status, raw = await self._fetch(pool, method, target, hdrs, body, deadline)
        try:
            data = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            data = raw.decode("utf-8", "replace")
        return UpstreamResponse(status, data)

    @staticmethod
    async def _fetch(
        pool: upstream.UpstreamPool,
        method: str,
        target: bytes,
        hdrs: list[tuple[bytes, bytes]],
        body: bytes | None,
        deadline: float,
    ) -> tuple[int, bytes]:
        try:
            return await pool.fetch(method, target, hdrs, body, deadline)
        except upstream.UpstreamTimeout as exc:
            raise UpstreamTimeout("A service did not answer in time") from exc
        except upstream.UpstreamError as exc:
            raise UpstreamUnavailable("A service is unavailable") from exc

    async def close(self) -> None:
        """Close the pools' idle connections."""
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()
