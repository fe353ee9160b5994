from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from empora_auth.app import create_app
from empora_auth.keys.material import generate_private_key, load_private_key
from empora_auth.settings import AuthSettings
from empora_common.security import JWKS_PATH, TokenVerifier

from ...support import Account, Api, Database, serving, unique_email
from ..users.test_router import assert_problem


@asynccontextmanager
async def auth_service(
    make_settings: Callable[..., AuthSettings],
    http: aiohttp.ClientSession,
    prefix: str,
    **overrides: Any,
) -> AsyncIterator[Api]:
    """A service of its own (own settings and Redis key prefix) on the shared database."""
    overrides.setdefault("REDIS_PREFIX", f"{prefix}{uuid.uuid4().hex[:6]}.")
    async with serving(create_app(make_settings(**overrides))) as server:
        yield Api(server.url, http)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TestLogin:
    async def test_returns_a_bearer_pair(self, api: Api, user: Account) -> None:
        reply = await api.login(user.email)
        assert reply.status == 200
        assert set(reply.body) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert reply.body["token_type"] == "bearer" and reply.body["expires_in"] == 900
        # Opaque refresh token with at least 128 bits (43 base64url characters = 256 bits).
        assert (
            len(reply.body["refresh_token"]) >= 43 and reply.body["refresh_token"].count(".") == 0
        )

    async def test_issues_an_rs256_token_other_services_verify_through_jwks(
        self, api: Api, user: Account, settings: AuthSettings
    ) -> None:
        header = jwt.get_unverified_header(user.access_token)
        assert header["alg"] == "RS256" and header["kid"]
        verifier = TokenVerifier(
            jwks_url=api.base_url + JWKS_PATH,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        try:
            principal = await verifier.verify(user.access_token)
        finally:
            await verifier.close()
        assert str(principal.user_id) == user.id and principal.email == user.email
        assert principal.roles == ("customer",) and principal.email_verified is False
        claims = jwt.decode(user.access_token, options={"verify_signature": False})
        assert {
            "sub",
            "email",
            "email_verified",
            "roles",
            "iss",
            "aud",
            "exp",
            "iat",
            "jti",
        } <= set(claims)
        assert claims["exp"] - claims["iat"] == 900

    async def test_is_case_insensitive_on_the_email(self, api: Api, user: Account) -> None:
        assert (await api.login(f" {user.email.upper()} ")).status == 200

    async def test_gives_the_same_401_for_unknown_email_and_wrong_password(
        self, api: Api, user: Account
    ) -> None:
        wrong = await api.login(user.email, "not-the-password")
        unknown = await api.login(unique_email(), "not-the-password")
        for reply in (wrong, unknown):
            assert_problem(reply, 401, "invalid-credentials")
        strip = lambda body: {k: v for k, v in body.items() if k != "request_id"}  # noqa: E731
        assert strip(wrong.body) == strip(unknown.body)

    async def test_refuses_a_deactivated_account_with_the_same_401(
        self, api: Api, admin: Account, user: Account
    ) -> None:
        await api.call(
            "PATCH", f"/api/users/{user.id}", token=admin.access_token, json={"is_active": False}
        )
        assert_problem(await api.login(user.email), 401, "invalid-credentials")

    async def test_refuses_a_missing_field_with_422(self, api: Api) -> None:
        assert_problem(await api.call("POST", "/api/auth/login", json={"email": "a@b.c"}), 422)

    async def test_rehashes_a_password_stored_with_old_parameters(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        prefix: str,
        api: Api,
        db: Database,
    ) -> None:
        account = await api.new_user()
        async with auth_service(make_settings, http, prefix, argon2_memory_cost=2048) as stronger:
            assert (await stronger.login(account.email)).status == 200
        row = await db.fetch(
            "SELECT password_hash FROM auth.user_account WHERE id = $1", uuid.UUID(account.id)
        )
        assert "$m=2048,t=1,p=1$" in row[0]["password_hash"]
        assert (await api.login(account.email)).status == 200


class TestLoginTiming:
    async def test_unknown_user_and_wrong_password_take_similar_time(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        prefix: str,
    ) -> None:
        # OWASP-cost Argon2 here: the property is that both paths pay one verification.
        async with auth_service(
            make_settings, http, prefix, argon2_memory_cost=19_456, argon2_time_cost=2
        ) as api:
            known = await api.new_user()

            async def timed(email: str) -> float:
                started = time.perf_counter()
                reply = await api.login(email, "definitely-not-it")
                assert reply.status == 401
                return time.perf_counter() - started

            wrong, unknown = [], []
            for _ in range(15):
                wrong.append(await timed(known.email))
                unknown.append(await timed(unique_email()))
        ratio = statistics.median(unknown) / statistics.median(wrong)
        assert 0.5 <= ratio <= 2.0, (ratio, wrong, unknown)


class TestLoginThrottling:
    async def test_locks_the_account_after_its_failures_then_a_reset_unlocks_it(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        prefix: str,
        db: Database,
    ) -> None:
        async with auth_service(make_settings, http, prefix, login_account_limit=3) as api:
            account = await api.new_user()
            for _ in range(3):
                assert (await api.login(account.email, "wrong-password-x")).status == 401
            locked = await api.login(account.email)  # even the right password
            assert_problem(locked, 429, "rate-limited")
            assert 1 <= int(locked.headers["Retry-After"]) <= 900
            assert (
                await api.call("POST", "/api/auth/forgot-password", json={"email": account.email})
            ).status == 202
            token = await db.link_token(account.id, "user.password_reset_requested")
            reset = await api.call(
                "POST",
                "/api/auth/reset-password",
                json={"token": token, "new_password": "granite-meadow-93-owl"},
            )
            assert reset.status == 200
            assert (await api.login(account.email, "granite-meadow-93-owl")).status == 200

    async def test_lifts_the_lock_when_the_window_passes(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        prefix: str,
    ) -> None:
        async with auth_service(
            make_settings, http, prefix, login_account_limit=2, login_account_window=1
        ) as api:
            account = await api.new_user()
            for _ in range(2):
                await api.login(account.email, "wrong-password-x")
            assert (await api.login(account.email)).status == 429
            await asyncio.sleep(1.2)
            assert (await api.login(account.email)).status == 200

    async def test_throttles_unknown_accounts_exactly_like_known_ones(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        prefix: str,
    ) -> None:
        async with auth_service(make_settings, http, prefix, login_account_limit=2) as api:
            ghost = unique_email()
            for _ in range(2):
                assert (await api.login(ghost, "wrong-password-x")).status == 401
            assert (await api.login(ghost, "wrong-password-x")).status == 429

    async def test_limits_failures_per_client_ip(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        prefix: str,
        client_ip: str,
    ) -> None:
        async with auth_service(make_settings, http, prefix, login_ip_limit=3) as api:
            account = await api.new_user()
            via = {"X-Forwarded-For": client_ip}
            for _ in range(3):
                await api.login(unique_email(), "wrong-password-x", headers=via)
            assert_problem(await api.login(account.email, headers=via), 429)
            other = {"X-Forwarded-For": "192.0.2.77"}
            assert (await api.login(account.email, headers=other)).status == 200

    async def test_ignores_forwarded_for_from_an_untrusted_peer(
        self,
        make_settings: Callable[..., AuthSettings],
        http: aiohttp.ClientSession,
        prefix: str,
    ) -> None:
        async with auth_service(
            make_settings, http, prefix, login_ip_limit=2, TRUSTED_PROXIES="192.0.2.1"
        ) as api:
            for i in range(2):
                await api.login(
                    unique_email(), "wrong-x-1", headers={"X-Forwarded-For": f"192.0.2.{i + 10}"}
                )
            # Every request really came from 127.0.0.1, whatever the header claimed.
            reply = await api.login(
                unique_email(), "wrong-x-1", headers={"X-Forwarded-For": "192.0.2.99"}
            )
            assert reply.status == 429


class TestRefresh:
    async def _refresh(self, api: Api, token: str):  # type: ignore[no-untyped-def]
        return await api.call("POST", "/api/auth/refresh", json={"refresh_token": token})

    async def test_rotates_the_pair(self, api: Api, user: Account) -> None:
        reply = await self._refresh(api, user.refresh_token)
        assert reply.status == 200
        assert reply.body["refresh_token"] != user.refresh_token
        assert reply.body["access_token"] != user.access_token
        me = await api.call("GET", "/api/auth/me", token=reply.body["access_token"])
        assert me.status == 200

    async def test_reuse_of_a_used_token_revokes_the_whole_family(
        self, api: Api, user: Account, db: Database
    ) -> None:
        child = (await self._refresh(api, user.refresh_token)).body["refresh_token"]
        grandchild = (await self._refresh(api, child)).body["refresh_token"]
        assert_problem(await self._refresh(api, user.refresh_token), 401, "invalid-refresh-token")
        assert_problem(await self._refresh(api, grandchild), 401)
        rows = await db.fetch(
            "SELECT revoke_reason FROM auth.refresh_family WHERE user_id = $1",
            uuid.UUID(user.id),
        )
        assert [r["revoke_reason"] for r in rows] == ["reuse"]

    async def test_reuse_leaves_the_users_other_sessions_alone(
        self, api: Api, user: Account
    ) -> None:
        other = (await api.login(user.email)).body
        await self._refresh(api, user.refresh_token)
        await self._refresh(api, user.refresh_token)
        assert (await self._refresh(api, other["refresh_token"])).status == 200

    async def test_two_racing_uses_of_one_token_yield_one_pair_then_revoke(
        self, api: Api, user: Account
    ) -> None:
        replies = await asyncio.gather(*(self._refresh(api, user.refresh_token) for _ in range(2)))
        assert sorted(r.status for r in replies) == [200, 401]
        winner = next(r for r in replies if r.status == 200)
        assert (await self._refresh(api, winner.body["refresh_token"])).status == 401

    async def test_refuses_an_unknown_token(self, api: Api) -> None:
        assert_problem(await self._refresh(api, "x" * 43), 401, "invalid-refresh-token")

    async def test_refuses_an_access_token_as_refresh_token(self, api: Api, user: Account) -> None:
        assert_problem(await self._refresh(api, user.access_token), 401)

    async def test_refuses_a_family_past_its_absolute_lifetime(
        self, api: Api, user: Account, db: Database
    ) -> None:
        await db.execute(
            "UPDATE auth.refresh_family SET expires_at = now() - interval '1 second'"
            " WHERE user_id = $1",
            uuid.UUID(user.id),
        )
        assert_problem(await self._refresh(api, user.refresh_token), 401)

    async def test_rotation_never_extends_the_absolute_lifetime(
        self, api: Api, user: Account, db: Database
    ) -> None:
        before = await db.fetch(
            "SELECT expires_at FROM auth.refresh_family WHERE user_id = $1", uuid.UUID(user.id)
        )
        await self._refresh(api, user.refresh_token)
        after = await db.fetch(
            "SELECT expires_at FROM auth.refresh_family WHERE user_id = $1", uuid.UUID(user.id)
        )
        assert before == after
        lifetime = before[0]["expires_at"].timestamp() - time.time()
        assert 29 * 86_400 < lifetime <= 30 * 86_400

    async def test_stores_only_hashes_of_refresh_tokens(self, user: Account, db: Database) -> None:
        rows = await db.fetch(
            "SELECT t.token_hash FROM auth.refresh_token t JOIN auth.refresh_family f"
            " ON f.id = t.family_id WHERE f.user_id = $1",
            uuid.UUID(user.id),
        )
        assert [bytes(r["token_hash"]) for r in rows] == [
            hashlib.sha256(user.refresh_token.encode()).digest()
        ]

    async def test_carries_claims_updated_since_login(
        self, api: Api, user: Account, db: Database
    ) -> None:
        token = await db.link_token(user.id, "user.registered")
        await api.call("POST", "/api/auth/verify-email", json={"token": token})
        reply = await self._refresh(api, user.refresh_token)
        claims = jwt.decode(reply.body["access_token"], options={"verify_signature": False})
        assert claims["email_verified"] is True


class TestLogout:
    async def test_revokes_the_family_of_the_token(self, api: Api, user: Account) -> None:
        child = (
            await api.call("POST", "/api/auth/refresh", json={"refresh_token": user.refresh_token})
        ).body
        reply = await api.call(
            "POST",
            "/api/auth/logout",
            token=child["access_token"],
            json={"refresh_token": child["refresh_token"]},
        )
        assert reply.status == 204
        again = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": child["refresh_token"]}
        )
        assert_problem(again, 401)

    async def test_leaves_other_sessions_signed_in(self, api: Api, user: Account) -> None:
        other = (await api.login(user.email)).body
        await api.call(
            "POST",
            "/api/auth/logout",
            token=user.access_token,
            json={"refresh_token": user.refresh_token},
        )
        refresh = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": other["refresh_token"]}
        )
        assert refresh.status == 200

    async def test_cannot_sign_out_someone_else(self, api: Api, user: Account) -> None:
        victim = await api.new_user()
        reply = await api.call(
            "POST",
            "/api/auth/logout",
            token=user.access_token,
            json={"refresh_token": victim.refresh_token},
        )
        assert reply.status == 204
        refresh = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": victim.refresh_token}
        )
        assert refresh.status == 200

    async def test_needs_a_token(self, api: Api, user: Account) -> None:
        reply = await api.call(
            "POST", "/api/auth/logout", json={"refresh_token": user.refresh_token}
        )
        assert_problem(reply, 401)


class TestAccessTokenValidation:
    """The JWT negatives: every forged or unfit token is refused by the service (401)."""

    @pytest.fixture
    async def signing(self, db: Database) -> tuple[str, Any]:
        rows = await db.fetch(
            "SELECT kid, private_key_pem FROM auth.signing_key WHERE activates_at <= now()"
            " ORDER BY activates_at DESC LIMIT 1"
        )
        return rows[0]["kid"], load_private_key(rows[0]["private_key_pem"])

    def _claims(self, user: Account, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "sub": user.id,
            "email": user.email,
            "email_verified": True,
            "roles": ["customer", "admin"],
            "iss": "empora-auth",
            "aud": "empora",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    async def _me(self, api: Api, token: str):  # type: ignore[no-untyped-def]
        return await api.call("GET", "/api/auth/me", token=token)

    async def test_accepts_a_well_formed_token_signed_with_the_service_key(
        self, api: Api, user: Account, signing: tuple[str, Any]
    ) -> None:
        kid, key = signing
        token = jwt.encode(self._claims(user), key, algorithm="RS256", headers={"kid": kid})
        assert (await self._me(api, token)).status == 200

    async def test_refuses_alg_none(
        self, api: Api, user: Account, signing: tuple[str, Any]
    ) -> None:
        kid, _ = signing
        header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        payload = b64(json.dumps(self._claims(user)).encode())
        assert_problem(await self._me(api, f"{header}.{payload}."), 401, "invalid-token")

    async def test_refuses_hs256_signed_with_the_public_key(
        self, api: Api, user: Account, signing: tuple[str, Any]
    ) -> None:
        kid, key = signing
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        payload = b64(json.dumps(self._claims(user)).encode())
        signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{header}.{payload}.{b64(signature)}"
        assert_problem(await self._me(api, token), 401)

    @pytest.mark.parametrize(
        "changes",
        [
            {"exp": int(time.time()) - 60, "iat": int(time.time()) - 1000},
            {"aud": "someone-else"},
            {"iss": "evil-issuer"},
            {"exp": None},
            {"sub": "not-a-uuid"},
        ],
        ids=["expired", "wrong-aud", "wrong-iss", "missing-exp", "bad-sub"],
    )
    async def test_refuses_bad_claims(
        self, api: Api, user: Account, signing: tuple[str, Any], changes: dict[str, Any]
    ) -> None:
        kid, key = signing
        token = jwt.encode(
            self._claims(user, **changes), key, algorithm="RS256", headers={"kid": kid}
        )
        assert_problem(await self._me(api, token), 401)

    async def test_refuses_an_unknown_kid(self, api: Api, user: Account) -> None:
        token = jwt.encode(
            self._claims(user),
            generate_private_key(),
            algorithm="RS256",
            headers={"kid": "unknown-kid"},
        )
        assert_problem(await self._me(api, token), 401)

    async def test_refuses_a_foreign_key_posing_under_our_kid(
        self, api: Api, user: Account, signing: tuple[str, Any]
    ) -> None:
        kid, _ = signing
        token = jwt.encode(
            self._claims(user), generate_private_key(), algorithm="RS256", headers={"kid": kid}
        )
        assert_problem(await self._me(api, token), 401)

    async def test_refuses_a_tampered_payload(self, api: Api, user: Account) -> None:
        header, _, signature = user.access_token.split(".")
        claims = jwt.decode(user.access_token, options={"verify_signature": False})
        claims["roles"] = ["admin"]
        forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
        assert_problem(await api.call("GET", "/api/users", token=forged), 401)

    async def test_refuses_a_refresh_token_used_as_access_token(
        self, api: Api, user: Account
    ) -> None:
        assert_problem(await self._me(api, user.refresh_token), 401)

    async def test_refuses_garbage(self, api: Api) -> None:
        assert_problem(await self._me(api, "a.b.c"), 401)
