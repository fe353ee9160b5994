from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from redis.asyncio import Redis

from empora_auth.admin import admin_ready_check, ensure_admin
from empora_auth.settings import AuthSettings
from empora_common.db import create_engine
from empora_common.security import valid_after_key
from empora_common.testing.infra import TestInfra

from ..support import GOOD_PASSWORD, Api, Database, unique_email


class TestEnsureAdmin:
    async def test_creates_a_verified_admin_who_can_sign_in(
        self, settings: AuthSettings, db: Database, api: Api
    ) -> None:
        email = unique_email("Admin").upper()
        user_id = await ensure_admin(settings, f"  {email} ", GOOD_PASSWORD)
        row = (await db.fetch("SELECT * FROM auth.user_account WHERE id = $1", user_id))[0]
        assert row["email"] == email.lower()
        assert row["email_verified"] and row["is_active"]
        assert set(row["roles"]) == {"customer", "admin"}
        assert (await api.login(email.lower())).status == 200

    async def test_is_idempotent(self, settings: AuthSettings, db: Database) -> None:
        email = unique_email("admin")
        first = await ensure_admin(settings, email, GOOD_PASSWORD)
        before = await db.fetch("SELECT password_hash FROM auth.user_account WHERE id = $1", first)
        assert await ensure_admin(settings, email, GOOD_PASSWORD) == first
        after = await db.fetch("SELECT password_hash FROM auth.user_account WHERE id = $1", first)
        assert before == after
        assert len(await db.fetch("SELECT 1 FROM auth.user_account WHERE email = $1", email)) == 1

    async def test_promotes_an_existing_customer_keeping_its_roles(
        self, settings: AuthSettings, db: Database, api: Api
    ) -> None:
        account = await api.new_user()
        user_id = await ensure_admin(settings, account.email, account.password)
        assert str(user_id) == account.id
        row = (
            await db.fetch(
                "SELECT roles, email_verified FROM auth.user_account WHERE id = $1", user_id
            )
        )[0]
        assert set(row["roles"]) == {"customer", "admin"} and row["email_verified"]

    async def test_a_new_password_revokes_the_old_sessions(
        self, settings: AuthSettings, api: Api, infra: TestInfra, prefix: str
    ) -> None:
        account = await api.new_user()
        await ensure_admin(settings, account.email, "another-strong-passphrase")
        refresh = await api.call(
            "POST", "/api/auth/refresh", json={"refresh_token": account.refresh_token}
        )
        assert refresh.status == 401
        assert (await api.login(account.email, "another-strong-passphrase")).status == 200
        redis = Redis.from_url(infra.redis_url)
        try:
            assert await redis.get(valid_after_key(prefix, account.id)) is not None
        finally:
            await redis.aclose()

    async def test_refuses_a_password_outside_the_length_rule(self, settings: AuthSettings) -> None:
        with pytest.raises(ValueError):
            await ensure_admin(settings, unique_email(), "short")


class TestAdminReadyCheck:
    async def _check(self, settings: AuthSettings) -> str | None:
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            return await admin_ready_check(SimpleNamespace(settings=settings, engine=engine))
        finally:
            await engine.dispose()

    async def test_is_satisfied_when_no_admin_is_configured(self, settings: AuthSettings) -> None:
        assert await self._check(settings) is None

    async def test_waits_for_the_configured_admin(self, settings: AuthSettings) -> None:
        email = f"boss-{uuid.uuid4().hex[:8]}@example.com"
        configured = settings.model_copy(update={"admin_email": email})
        assert "does not exist" in (await self._check(configured) or "")
        await ensure_admin(settings, email, GOOD_PASSWORD)
        assert await self._check(configured) is None
