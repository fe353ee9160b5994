from __future__ import annotations

import uuid

from empora_auth.maintenance import purge_expired
from empora_auth.settings import AuthSettings
from empora_common.db import create_engine

from ..support import Account, Database


class TestPurgeExpired:
    async def test_deletes_tokens_expired_over_a_day_ago_and_keeps_the_rest(
        self, user: Account, db: Database, settings: AuthSettings
    ) -> None:
        uid = uuid.UUID(user.id)
        old_family, old_link = uuid.uuid4(), uuid.uuid4()
        await db.execute(
            "INSERT INTO auth.refresh_family (id, user_id, created_at, expires_at)"
            " VALUES ($1, $2, now() - interval '40 days', now() - interval '2 days')",
            old_family,
            uid,
        )
        await db.execute(
            "INSERT INTO auth.refresh_token (id, family_id, token_hash, created_at)"
            " VALUES ($1, $2, $3, now() - interval '40 days')",
            uuid.uuid4(),
            old_family,
            uuid.uuid4().bytes,
        )
        await db.execute(
            "INSERT INTO auth.one_time_token (id, user_id, purpose, token_hash, created_at,"
            " expires_at) VALUES ($1, $2, 'reset_password', $3, now() - interval '3 days',"
            " now() - interval '2 days')",
            old_link,
            uid,
            uuid.uuid4().bytes,
        )
        engine = create_engine(settings.database_url, pool_size=1)
        try:
            families, links = await purge_expired({"engine": engine})
        finally:
            await engine.dispose()
        assert families >= 1 and links >= 1
        assert await db.fetch("SELECT 1 FROM auth.refresh_family WHERE id = $1", old_family) == []
        assert await db.fetch("SELECT 1 FROM auth.one_time_token WHERE id = $1", old_link) == []
        live_families = await db.fetch("SELECT 1 FROM auth.refresh_family WHERE user_id = $1", uid)
        live_links = await db.fetch("SELECT 1 FROM auth.one_time_token WHERE user_id = $1", uid)
        assert len(live_families) == 1 and len(live_links) == 1
