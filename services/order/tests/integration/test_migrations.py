"""The order schema's migration goes down and up again on a real database."""

from __future__ import annotations

import asyncio

import asyncpg

from empora_common.db import plain_database_url
from empora_common.migrations import downgrade, upgrade
from empora_common.paths import migrations_dir
from empora_common.testing.infra import TestInfra, create_database, drop_database


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(plain_database_url(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'order'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


class TestInitialMigration:
    async def test_upgrade_downgrade_upgrade(self, infra: TestInfra) -> None:
        name = "empora_order_migration_test"
        await drop_database(infra.admin_database_url, name)
        url = await create_database(infra.admin_database_url, name)
        try:
            folder = migrations_dir("order")
            await asyncio.to_thread(upgrade, folder, url)
            created = await tables(url)
            await asyncio.to_thread(downgrade, folder, url)
            after_down = await tables(url)
            await asyncio.to_thread(upgrade, folder, url)
            again = await tables(url)
        finally:
            await drop_database(infra.admin_database_url, name)
        assert {
            "order",
            "order_line",
            "status_history",
            "payment",
            "refund",
            "idempotency_key",
            "test_provider_charge",
            "outbox",
            "inbox",
        } <= created
        assert after_down == {"alembic_version"}
        assert again == created
