"""The product migrations go up, down to nothing, and up again."""

from __future__ import annotations

import asyncio

import asyncpg

from empora_common.db import plain_database_url
from empora_common.migrations import downgrade, upgrade
from empora_common.paths import migrations_dir
from empora_common.testing.infra import TestInfra, drop_database, migrated_database
from empora_product.models import metadata


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(plain_database_url(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'product'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


class TestMigrations:
    async def test_upgrade_downgrade_upgrade(self, infra: TestInfra) -> None:
        name, url = await migrated_database(infra.admin_database_url, ("product",))
        try:
            expected = {t.name for t in metadata.sorted_tables}
            assert await tables(url) == expected | {"alembic_version"}
            await asyncio.to_thread(downgrade, migrations_dir("product"), url)
            assert await tables(url) == {"alembic_version"}
            await asyncio.to_thread(upgrade, migrations_dir("product"), url)
            assert await tables(url) == expected | {"alembic_version"}
        finally:
            await drop_database(infra.admin_database_url, name)
