from __future__ import annotations

import uuid
from collections.abc import Callable

import aiohttp
import pytest

from empora_auth.app import create_app
from empora_auth.settings import AuthSettings

from ...support import Account, Api, Database, serving, unique_email
from ..users.test_router import assert_problem


class TestVerifyEmail:
    async def test_verifies_with_the_token_from_the_registration_link(
        self, api: Api, user: Account, db: Database
    ) -> None:
        token = await db.link_token(user.id, "user.registered")
        reply = await api.call("POST", "/api/auth/verify-email", json={"token": token})
        assert reply.status == 200
        assert reply.body["id"] == user.id and reply.body["email_verified"] is True

    async def test_a_token_works_once(self, api: Api, user: Account, db: Database) -> None:
        token = await db.link_token(user.id, "user.registered")
        await api.call("POST", "/api/auth/verify-email", json={"token": token})
        again = await api.call("POST", "/api/auth/verify-email", json={"token": token})
        assert_problem(again, 400, "invalid-link-token")

    async def test_refuses_an_expired_token(self, api: Api, user: Account, db: Database) -> None:
        token = await db.link_token(user.id, "user.registered")
        await db.execute(
            "UPDATE auth.one_time_token SET expires_at = now() - interval '1 second'"
            " WHERE user_id = $1",
            uuid.UUID(user.id),
        )
        reply = await api.call("POST", "/api/auth/verify-email", json={"token": token})
        assert_problem(reply, 400)

    async def test_expires_after_24_hours(self, user: Account, db: Database) -> None:
        rows = await db.fetch(
            "SELECT expires_at - created_at AS ttl FROM auth.one_time_token WHERE user_id = $1",
            uuid.UUID(user.id),
        )
        assert rows[0]["ttl"].total_seconds() == 86_400

    async def test_refuses_an_unknown_token(self, api: Api) -> None:
        reply = await api.call("POST", "/api/auth/verify-email", json={"token": "nope"})
        assert_problem(reply, 400)

    async def test_refuses_a_reset_token(self, api: Api, user: Account, db: Database) -> None:
        await api.call("POST", "/api/auth/forgot-password", json={"email": user.email})
        token = await db.link_token(user.id, "user.password_reset_requested")
        reply = await api.call("POST", "/api/auth/verify-email", json={"token": token})
        assert_problem(reply, 400)

    async def test_stores_only_the_hash_of_the_token(self, user: Account, db: Database) -> None:
        token = await db.link_token(user.id, "user.registered")
        rows = await db.fetch(
            "SELECT 1 FROM auth.one_time_token WHERE token_hash = $1", token.encode()
        )
        assert rows == []


class TestResendVerification:
    async def test_sends_a_new_link_that_works(self, api: Api, user: Account, db: Database) -> None:
        reply = await api.call("POST", "/api/auth/resend-verification", token=user.access_token)
        assert reply.status == 202
        token = await db.link_token(user.id, "user.verification_requested")
        assert (
            await api.call("POST", "/api/auth/verify-email", json={"token": token})
        ).status == 200

    async def test_sends_nothing_once_verified(self, api: Api, user: Account, db: Database) -> None:
        token = await db.link_token(user.id, "user.registered")
        await api.call("POST", "/api/auth/verify-email", json={"token": token})
        reply = await api.call("POST", "/api/auth/resend-verification", token=user.access_token)
        assert reply.status == 202
        assert await db.events(user.id, "user.verification_requested") == []

    async def test_needs_a_token(self, api: Api) -> None:
        assert_problem(await api.call("POST", "/api/auth/resend-verification"), 401)


class TestForgotPassword:
    async def test_writes_a_reset_link_built_from_the_public_base_url(
        self, api: Api, user: Account, db: Database
    ) -> None:
        reply = await api.call(
            "POST",
            "/api/auth/forgot-password",
            json={"email": user.email.upper()},
            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        )
        assert reply.status == 202
        events = await db.events(user.id, "user.password_reset_requested")
        data = events[-1]["data"]
        assert data["email"] == user.email and data["user_id"] == user.id
        assert data["reset_url"].startswith("https://shop.example.test/reset-password?token=")

    async def test_answers_202_for_an_unknown_address_and_sends_nothing(
        self, api: Api, db: Database
    ) -> None:
        email = unique_email()
        reply = await api.call("POST", "/api/auth/forgot-password", json={"email": email})
        assert reply.status == 202
        rows = await db.fetch("SELECT 1 FROM auth.outbox WHERE data->>'email' = $1", email)
        assert rows == []

    async def test_the_answers_for_known_and_unknown_addresses_match(
        self, api: Api, user: Account
    ) -> None:
        known = await api.call("POST", "/api/auth/forgot-password", json={"email": user.email})
        unknown = await api.call(
            "POST", "/api/auth/forgot-password", json={"email": unique_email()}
        )
        assert (known.status, known.body) == (unknown.status, unknown.body)

    async def test_refuses_a_malformed_address(self, api: Api) -> None:
        reply = await api.call("POST", "/api/auth/forgot-password", json={"email": "nope"})
        assert_problem(reply, 422)


class TestResetPassword:
    async def _reset_token(self, api: Api, db: Database, account: Account) -> str:
        await api.call("POST", "/api/auth/forgot-password", json={"email": account.email})
        return await db.link_token(account.id, "user.password_reset_requested")

    async def _reset(self, api: Api, token: str, password: str = "granite-meadow-93-owl"):  # type: ignore[no-untyped-def]
        return await api.call(
            "POST", "/api/auth/reset-password", json={"token": token, "new_password": password}
        )

    async def test_sets_the_password_and_voids_every_earlier_token_at_once(
        self, api: Api, user: Account, db: Database
    ) -> None:
        token = await self._reset_token(api, db, user)
        reply = await self._reset(api, token)
        assert reply.status == 200 and reply.body["id"] == user.id
        assert_problem(await api.call("GET", "/api/auth/me", token=user.access_token), 401)
        refresh = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        assert_problem(refresh, 401)
        assert_problem(await api.login(user.email), 401)
        fresh = await api.login(user.email, "granite-meadow-93-owl")
        assert fresh.status == 200
        me = await api.call("GET", "/api/auth/me", token=fresh.body["access_token"])
        assert me.status == 200

    async def test_revokes_every_session_of_the_user(
        self, api: Api, user: Account, db: Database
    ) -> None:
        await api.login(user.email)
        await self._reset(api, await self._reset_token(api, db, user))
        rows = await db.fetch(
            "SELECT revoked_at FROM auth.refresh_family WHERE user_id = $1", uuid.UUID(user.id)
        )
        assert len(rows) == 2 and all(r["revoked_at"] is not None for r in rows)

    async def test_marks_the_address_verified(self, api: Api, user: Account, db: Database) -> None:
        reply = await self._reset(api, await self._reset_token(api, db, user))
        assert reply.body["email_verified"] is True

    async def test_a_token_works_once(self, api: Api, user: Account, db: Database) -> None:
        token = await self._reset_token(api, db, user)
        await self._reset(api, token)
        assert_problem(await self._reset(api, token, "another-strong-passphrase"), 400)

    async def test_refuses_an_expired_token(self, api: Api, user: Account, db: Database) -> None:
        token = await self._reset_token(api, db, user)
        await db.execute(
            "UPDATE auth.one_time_token SET expires_at = now() - interval '1 second'"
            " WHERE user_id = $1 AND purpose = 'reset_password'",
            uuid.UUID(user.id),
        )
        assert_problem(await self._reset(api, token), 400, "invalid-link-token")

    async def test_expires_after_one_hour(self, api: Api, user: Account, db: Database) -> None:
        await self._reset_token(api, db, user)
        rows = await db.fetch(
            "SELECT expires_at - created_at AS ttl FROM auth.one_time_token"
            " WHERE user_id = $1 AND purpose = 'reset_password'",
            uuid.UUID(user.id),
        )
        assert rows[0]["ttl"].total_seconds() == 3_600

    async def test_a_weak_password_is_refused_and_the_link_still_works(
        self, api: Api, user: Account, db: Database
    ) -> None:
        token = await self._reset_token(api, db, user)
        weak = await self._reset(api, token, "12345678")
        assert_problem(weak, 422)
        assert weak.body["errors"][0]["field"] == "new_password"
        assert (await self._reset(api, token)).status == 200

    async def test_refuses_an_unknown_token(self, api: Api) -> None:
        assert_problem(await self._reset(api, "unknown-token"), 400)

    async def test_refuses_a_verification_token(
        self, api: Api, user: Account, db: Database
    ) -> None:
        token = await db.link_token(user.id, "user.registered")
        assert_problem(await self._reset(api, token), 400)


class TestSignupThrottling:
    @pytest.mark.parametrize(
        "path,body",
        [
            ("/api/auth/register", lambda: {"email": unique_email(), "password": "granite-93-owl"}),
            ("/api/auth/forgot-password", lambda: {"email": unique_email()}),
        ],
    )
    async def test_limits_requests_per_client_ip(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        prefix: str,
        client_ip: str,
        path: str,
        body: Callable[[], dict[str, str]],
    ) -> None:
        settings = make_settings(signup_ip_limit=2, REDIS_PREFIX=f"{prefix}{uuid.uuid4().hex[:6]}.")
        async with serving(create_app(settings)) as server:
            api = Api(server.url, http)
            via = {"X-Forwarded-For": client_ip}
            statuses = [
                (await api.call("POST", path, json=body(), headers=via)).status for _ in range(3)
            ]
            accepted = 201 if path.endswith("register") else 202
            assert statuses == [accepted, accepted, 429]
            limited = await api.call("POST", path, json=body(), headers=via)
            assert int(limited.headers["Retry-After"]) <= 60
            elsewhere = await api.call(
                "POST", path, json=body(), headers={"X-Forwarded-For": "192.0.2.200"}
            )
            assert elsewhere.status in (201, 202)
