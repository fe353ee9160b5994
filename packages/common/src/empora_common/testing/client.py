"""A small JSON client over real HTTP, shared by the services' API tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

# Below the services' keep-alive (uvicorn closes an idle connection after 5 s): a client that
# kept one longer could send a request just as the server closes it ("Server disconnected").
IDLE_CONNECTION_SECONDS = 3.0


def client_session(**kw: Any) -> aiohttp.ClientSession:
    """An aiohttp session for tests whose idle connections expire before the server's do."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS), **kw
    )


@dataclass
class Reply:
    """Status, decoded body (JSON, else text, else None) and headers of one response."""

    status: int
    body: Any
    headers: Any


class JsonClient:
    """``call``/``get``/``post``/``put``/``patch``/``delete`` against one server.

    ``base_url`` is prefixed to every path; leave it empty when the session has its own.
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: str = "") -> None:
        self.session = session
        self.base_url = base_url

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Reply:
        """Send one request and read the whole answer."""
        async with self.session.request(
            method, self.base_url + path, json=json, data=data, headers=headers, params=params
        ) as resp:
            raw = await resp.read()
            body: Any = None
            if raw:
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = raw.decode(errors="replace")
            return Reply(resp.status, body, resp.headers)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Reply:
        return await self.call("POST", path, **kw)

    async def put(self, path: str, **kw: Any) -> Reply:
        return await self.call("PUT", path, **kw)

    async def patch(self, path: str, **kw: Any) -> Reply:
        return await self.call("PATCH", path, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.call("DELETE", path, **kw)
