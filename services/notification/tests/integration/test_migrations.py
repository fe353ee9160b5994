"""The Alembic migrations on a fresh database: up, down to nothing, and up again."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from empora_common.db import create_engine, plain_database_url
from empora_common.migrations import downgrade, upgrade
from empora_common.paths import migrations_dir
from empora_common.testing.infra import TestInfra, create_database, drop_database
from empora_notification.models import metadata


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(plain_database_url(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'notification'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


class TestMigrations:
    async def test_upgrade_downgrade_upgrade(self, infra: TestInfra) -> None:
        name = f"empora_test_notif_mig_{uuid.uuid4().hex[:8]}"
        url = await create_database(infra.admin_database_url, name)
        folder = migrations_dir("notification")
        try:
            await asyncio.to_thread(upgrade, folder, url)
            after_upgrade = await tables(url)
            await asyncio.to_thread(downgrade, folder, url)
            after_downgrade = await tables(url)
            await asyncio.to_thread(upgrade, folder, url)
            after_second_upgrade = await tables(url)
        finally:
            await drop_database(infra.admin_database_url, name)

        expected = {t.name for t in metadata.sorted_tables}
        assert expected == {"notification", "outbox", "inbox"}
        assert after_upgrade == expected | {"alembic_version"}
        assert after_downgrade == {"alembic_version"}
        assert after_second_upgrade == after_upgrade


class TestModelsMatchMigrations:
    async def test_autogenerate_finds_no_difference(self, db: str) -> None:
        engine = create_engine(db)

        def compare(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_schemas": True,
                    "include_name": lambda n, t, _p: t != "schema" or n == "notification",
                    "compare_type": True,
                    "version_table_schema": "notification",
                },
            )
            return list(compare_metadata(context, metadata))

        try:
            async with engine.connect() as conn:
                differences = await conn.run_sync(compare)
        finally:
            await engine.dispose()

        assert differences == []
