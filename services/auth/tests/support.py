"""Helpers of the auth service's tests: a small API client and direct database access."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

from empora_common.db import plain_database_url
from empora_common.testing.infra import AppServer

GOOD_PASSWORD = "violet-harbor-47-lantern"


def app_server(app: Any) -> AppServer:
    """A real uvicorn server whose app sees the socket peer itself.

    uvicorn's own proxy-header handling is off (as in the Dockerfile), so TRUSTED_PROXIES
    alone decides whether X-Forwarded-For is believed.
    """
    server = AppServer(app)
    server.server.config.proxy_headers = False
    return server


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[AppServer]:
    """``async with serving(app) as server:`` — started, then stopped."""
    server = await app_server(app).start()
    try:
        yield server
    finally:
        await server.stop()


def unique_email(tag: str = "user") -> str:
    """An address no other test uses."""
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Reply:
    """Status, headers and decoded body of one response."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0]


class Api:
    """A client of one running auth service."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Reply:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        async with self.session.request(
            method, self.base_url + path, json=json, data=data, headers=hdrs
        ) as resp:
            raw = await resp.read()
            body: Any = None
            if raw:
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = raw.decode()
            return Reply(resp.status, dict(resp.headers), body)

    async def register(
        self, email: str | None = None, password: str = GOOD_PASSWORD, **extra: Any
    ) -> Reply:
        return await self.call(
            "POST",
            "/api/auth/register",
            json={"email": email or unique_email(), "password": password, **extra},
        )

    async def login(self, email: str, password: str = GOOD_PASSWORD, **kw: Any) -> Reply:
        return await self.call(
            "POST", "/api/auth/login", json={"email": email, "password": password}, **kw
        )

    async def new_user(self, email: str | None = None, password: str = GOOD_PASSWORD) -> Account:
        """Register and sign in a fresh account."""
        address = email or unique_email()
        reg = await self.register(address, password)
        assert reg.status == 201, reg.body
        tokens = await self.login(address, password)
        assert tokens.status == 200, tokens.body
        return Account(
            id=reg.body["id"],
            email=address,
            password=password,
            access_token=tokens.body["access_token"],
            refresh_token=tokens.body["refresh_token"],
        )


@dataclass
class Account:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str


class Database:
    """Direct reads of the auth schema (for facts the API does not show)."""

    def __init__(self, url: str) -> None:
        self.url = plain_database_url(url)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def execute(self, query: str, *args: Any) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()

    async def events(self, user_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
        """Outbox rows about a user, oldest first."""
        import json as _json

        rows = await self.fetch(
            "SELECT event_type, data, published_at FROM auth.outbox"
            " WHERE aggregate_id = $1 ORDER BY seq",
            user_id,
        )
        out = [
            {
                "type": r["event_type"],
                "data": _json.loads(r["data"]) if isinstance(r["data"], str) else r["data"],
                "published_at": r["published_at"],
            }
            for r in rows
        ]
        return [e for e in out if event_type is None or e["type"] == event_type]

    async def link_token(self, user_id: str, event_type: str) -> str:
        """The token in the link of the user's latest event of that type."""
        events = await self.events(user_id, event_type)
        assert events, f"no {event_type} event for {user_id}"
        url = events[-1]["data"].get("verification_url") or events[-1]["data"]["reset_url"]
        return str(url.split("token=", 1)[1])
