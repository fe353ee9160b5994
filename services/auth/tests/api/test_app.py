from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import aio_pika
import aiohttp
import pytest

from empora_auth.admin import ensure_admin
from empora_auth.app import create_app
from empora_auth.settings import AuthSettings
from empora_common.messaging.topology import Names, declare_events_exchange
from empora_common.testing.infra import TestInfra

from ..support import GOOD_PASSWORD, Api, Database, serving, unique_email
from .users.test_router import assert_problem

PROTECTED = [
    ("GET", "/api/auth/me"),
    ("PATCH", "/api/auth/me"),
    ("POST", "/api/auth/change-password"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/resend-verification"),
    ("GET", "/api/users"),
    ("GET", f"/api/users/{uuid.uuid4()}"),
    ("PATCH", f"/api/users/{uuid.uuid4()}"),
    ("DELETE", f"/api/users/{uuid.uuid4()}"),
]


class TestWithoutToken:
    @pytest.mark.parametrize("method,path", PROTECTED)
    async def test_protected_routes_answer_401(self, api: Api, method: str, path: str) -> None:
        reply = await api.call(method, path, json={})
        assert_problem(reply, 401)

    async def test_identity_headers_sent_by_a_client_are_not_trusted(self, api: Api) -> None:
        reply = await api.call(
            "GET",
            "/api/auth/me",
            headers={"X-User-ID": str(uuid.uuid4()), "X-User-Roles": "admin"},
        )
        assert_problem(reply, 401)


class TestHealth:
    async def test_live_and_ready(self, api: Api) -> None:
        assert (await api.call("GET", "/health/live")).status == 200
        ready = await api.call("GET", "/health/ready")
        assert ready.status == 200 and ready.body["checks"]["database"] == "ok"

    async def test_is_not_ok_until_the_configured_admin_exists(
        self,
        make_settings: Callable[..., AuthSettings],
        settings: AuthSettings,
        http: aiohttp.ClientSession,
    ) -> None:
        email = unique_email("boss")
        async with serving(create_app(make_settings(EMPORA_ADMIN_EMAIL=email))) as server:
            api = Api(server.url, http)
            before = await api.call("GET", "/health")
            await ensure_admin(settings, email, GOOD_PASSWORD)
            after = await api.call("GET", "/health")
        assert before.body["status"] != "ok" and "setup" in before.body["checks"]
        assert after.body["status"] == "ok", after.body


class TestOpenApi:
    async def test_documents_every_public_route(self, api: Api) -> None:
        paths = set((await api.call("GET", "/openapi.json")).body["paths"])
        assert {
            "/api/auth/register",
            "/api/auth/login",
            "/api/auth/refresh",
            "/api/auth/logout",
            "/api/auth/verify-email",
            "/api/auth/resend-verification",
            "/api/auth/forgot-password",
            "/api/auth/reset-password",
            "/api/auth/me",
            "/api/auth/change-password",
            "/api/auth/.well-known/jwks.json",
            "/api/users",
            "/api/users/{user_id}",
        } <= paths


class TestEventsDelivered:
    async def test_emailed_links_reach_a_consumer_through_rabbitmq(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        infra: TestInfra,
        prefix: str,
        db: Database,
    ) -> None:
        # Earlier tests left unpublished rows; this test is about its own events only.
        await db.execute("UPDATE auth.outbox SET published_at = now() WHERE published_at IS NULL")
        connection = await aio_pika.connect(infra.amqp_url)
        try:
            channel = await connection.channel()
            exchange = await declare_events_exchange(channel, Names(prefix))
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.bind(exchange, routing_key="user.#")
            settings = make_settings(EMPORA_RUN_WORKERS=True)
            async with serving(create_app(settings)) as server:
                api = Api(server.url, http)
                registered = await api.register()
                user_id = registered.body["id"]
                await api.call(
                    "POST", "/api/auth/forgot-password", json={"email": registered.body["email"]}
                )
                received: dict[str, dict[str, object]] = {}
                async with asyncio.timeout(15):
                    async with queue.iterator() as messages:
                        async for message in messages:
                            await message.ack()
                            envelope = json.loads(message.body)
                            if envelope["data"].get("user_id") == user_id:
                                received[envelope["type"]] = envelope
                            if len(received) == 2:
                                break
                published = await self._all_published(db, user_id)
        finally:
            await connection.close()
        registered_event = received["user.registered"]
        assert registered_event["producer"] == "auth" and registered_event["version"] == 1
        assert str(registered_event["data"]["verification_url"]).startswith(  # type: ignore[index]
            "https://shop.example.test/verify-email?token="
        )
        reset = received["user.password_reset_requested"]["data"]
        assert str(reset["reset_url"]).startswith(  # type: ignore[index]
            "https://shop.example.test/reset-password?token="
        )
        assert published

    async def _all_published(self, db: Database, user_id: str) -> bool:
        """The relay marks rows published once the broker confirmed them (wait a little)."""
        for _ in range(50):
            rows = await db.fetch(
                "SELECT published_at FROM auth.outbox WHERE aggregate_id = $1", user_id
            )
            if rows and all(r["published_at"] is not None for r in rows):
                return True
            await asyncio.sleep(0.1)
        return False
