"""Service-to-service HTTP over a pooled aiohttp session, with the internal credential."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from empora_common.constants import INTERNAL_TOKEN_HEADER
from empora_common.errors import UpstreamTimeout, UpstreamUnavailable
from empora_common.logging import current_request_id


class UpstreamResponse:
    """Status and decoded JSON body of an internal call."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body


class InternalClient:
    """Calls ``/internal/...`` routes of other services; propagates the request id."""

    def __init__(self, internal_token: str, *, timeout: float = 10.0, limit: int = 100) -> None:
        self._token = internal_token
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=2)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=30),
                timeout=self._timeout,
                json_serialize=lambda o: orjson.dumps(o).decode(),
            )
        return self._session

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
        hdrs = {INTERNAL_TOKEN_HEADER: self._token}
        rid = current_request_id()
        if rid:
            hdrs["X-Request-ID"] = rid
        if headers:
            hdrs.update(headers)
        kwargs: dict[str, Any] = {"headers": hdrs}
        if json is not None:
            kwargs["data"] = orjson.dumps(json)
            hdrs["Content-Type"] = "application/json"
        if timeout is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout, connect=2)
        try:
            async with self._client().request(method, url, **kwargs) as resp:
                raw = await resp.read()
        except TimeoutError as exc:
            raise UpstreamTimeout("A service did not answer in time") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable("A service is unavailable") from exc
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        return UpstreamResponse(resp.status, body)

    async def close(self) -> None:
        """Close the pool."""
        if self._session is not None:
            await self._session.close()
