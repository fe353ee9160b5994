from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from empora_auth.keys import KeyRotationUnavailable, rotate
from empora_auth.keys.material import generate_private_key, private_key_to_pem, public_jwk
from empora_auth.keys.service import KeyRing
from empora_auth.settings import AuthSettings
from empora_common.db import create_engine
from empora_common.testing.infra import TestInfra, drop_database, migrated_database


@pytest.fixture(scope="module")
async def keys_database(infra: TestInfra) -> AsyncIterator[str]:
    """A database of its own: these tests create, rotate and delete keys."""
    name, url = await migrated_database(infra.admin_database_url, services=("auth",))
    yield url
    await drop_database(infra.admin_database_url, name)


@pytest.fixture
async def engine(keys_database: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(keys_database, pool_size=4)
    async with eng.begin() as conn:
        await conn.execute(text("DELETE FROM auth.signing_key"))
    yield eng
    await eng.dispose()


@pytest.fixture
def key_settings(
    make_settings: Callable[..., AuthSettings], keys_database: str
) -> Callable[..., AuthSettings]:
    def build(**overrides: Any) -> AuthSettings:
        return make_settings(DATABASE_URL=keys_database, **overrides)

    return build


async def _rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT kid, activates_at, retired_at FROM auth.signing_key ORDER BY created_at")
        )
        return list(result.all())


class TestKeyRingStart:
    async def test_creates_a_current_and_a_next_key_on_first_start(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        ring = KeyRing(key_settings(), engine)
        await ring.start()
        rows = await _rows(engine)
        assert len(rows) == 2
        assert [r.activates_at is not None for r in rows] == [True, False]
        signing = await ring.signing_key()
        assert signing.kid == rows[0].kid
        assert [k["kid"] for k in ring.jwks()["keys"]] == [rows[0].kid, rows[1].kid]

    async def test_two_instances_starting_at_once_share_one_set_of_keys(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        rings = [KeyRing(key_settings(), engine) for _ in range(3)]
        await asyncio.gather(*(ring.start() for ring in rings))
        assert len(await _rows(engine)) == 2
        kids = {(await ring.signing_key()).kid for ring in rings}
        assert len(kids) == 1

    async def test_a_restart_keeps_the_keys(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        first = KeyRing(key_settings(), engine)
        await first.start()
        second = KeyRing(key_settings(), engine)
        await second.start()
        assert (await first.signing_key()).kid == (await second.signing_key()).kid
        assert len(await _rows(engine)) == 2

    async def test_jwks_never_contains_private_members(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        ring = KeyRing(key_settings(), engine)
        await ring.start()
        for jwk in ring.jwks()["keys"]:
            assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


class TestConfiguredKey:
    async def test_signs_with_the_configured_key_without_a_database(
        self, key_settings: Callable[..., AuthSettings]
    ) -> None:
        private = generate_private_key()
        ring = KeyRing(key_settings(JWT_PRIVATE_KEY=private_key_to_pem(private)), None)
        await ring.start()
        kid = public_jwk(private)["kid"]
        assert (await ring.signing_key()).kid == kid
        assert [k["kid"] for k in ring.jwks()["keys"]] == [kid]

    async def test_cannot_be_rotated_by_the_command(
        self, key_settings: Callable[..., AuthSettings]
    ) -> None:
        pem = private_key_to_pem(generate_private_key())
        with pytest.raises(KeyRotationUnavailable):
            await rotate(key_settings(JWT_PRIVATE_KEY=pem))


class TestRotate:
    async def test_publishes_the_next_key_before_it_signs(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        settings = key_settings(JWT_KEY_PUBLISH_DELAY=600)
        ring = KeyRing(settings, engine)
        await ring.start()
        before = (await ring.signing_key()).kid
        result = await rotate(settings)
        await ring.reload()
        # The promoted key was published at first start; it signs only after the delay.
        assert result.retiring_kid == before
        assert result.signs_from > datetime.now(UTC) + timedelta(seconds=500)
        assert (await ring.signing_key()).kid == before
        published = [k["kid"] for k in ring.jwks()["keys"]]
        assert published[0] == before
        assert {result.signing_kid, result.next_kid} <= set(published)
        assert f"key {result.signing_kid} signs from" in str(result)

    async def test_signs_with_the_promoted_key_once_its_time_comes(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        settings = key_settings(JWT_KEY_PUBLISH_DELAY=0)
        ring = KeyRing(settings, engine)
        await ring.start()
        old = await ring.signing_key()
        result = await rotate(settings)
        await ring.reload()
        new = await ring.signing_key()
        assert new.kid == result.signing_kid != old.kid
        # The old key stays published so the tokens it signed still verify.
        published = {k["kid"]: k for k in ring.jwks()["keys"]}
        assert old.kid in published and result.next_kid in published
        token = jwt.encode({"sub": "x"}, old.private_key, algorithm="RS256")
        public = jwt.PyJWK(published[old.kid]).key
        assert jwt.decode(token, public, algorithms=["RS256"])["sub"] == "x"

    async def test_a_second_rotation_during_the_delay_changes_nothing(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        settings = key_settings(JWT_KEY_PUBLISH_DELAY=600)
        first = await rotate(settings)
        second = await rotate(settings)
        assert second.already_scheduled
        assert second.signing_kid == first.signing_kid
        assert len(await _rows(engine)) == 3

    async def test_deletes_keys_whose_tokens_have_all_expired(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        settings = key_settings(JWT_KEY_PUBLISH_DELAY=0)
        first = await rotate(settings)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE auth.signing_key SET retired_at = now() - interval '2 hours'"
                    " WHERE kid = :kid"
                ),
                {"kid": first.retiring_kid},
            )
        second = await rotate(settings)
        assert second.deleted == 1
        assert first.retiring_kid not in {r.kid for r in await _rows(engine)}

    async def test_an_instance_notices_a_rotation_made_elsewhere(
        self, engine: AsyncEngine, key_settings: Callable[..., AuthSettings]
    ) -> None:
        settings = key_settings(JWT_KEY_PUBLISH_DELAY=0, JWT_KEY_RELOAD_INTERVAL=1)
        ring = KeyRing(settings, engine)
        await ring.start()
        result = await rotate(settings)
        await asyncio.sleep(1.1)
        assert (await ring.signing_key()).kid == result.signing_kid
