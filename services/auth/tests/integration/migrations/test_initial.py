from __future__ import annotations

import asyncio

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from empora_auth.models import metadata
from empora_common.db import async_database_url, plain_database_url
from empora_common.migrations import downgrade, upgrade
from empora_common.paths import migrations_dir
from empora_common.testing.infra import TestInfra, drop_database, migrated_database

TABLES = {
    "user_account",
    "refresh_family",
    "refresh_token",
    "one_time_token",
    "signing_key",
    "outbox",
    "inbox",
}


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(plain_database_url(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'auth'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows} - {"alembic_version"}


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": lambda name, type_, _p: type_ != "schema" or name == "auth",
        },
    )
    return [
        d
        for d in compare_metadata(context, metadata)
        if not (d[0] == "remove_table" and d[1].name == "alembic_version")
    ]


class TestInitialMigration:
    async def test_builds_exactly_what_the_models_describe(self, auth_database_url: str) -> None:
        assert await _tables(auth_database_url) == TABLES
        engine = create_async_engine(async_database_url(auth_database_url))
        try:
            async with engine.connect() as conn:
                assert await conn.run_sync(_differences) == []
        finally:
            await engine.dispose()

    async def test_downgrades_to_nothing_and_upgrades_again(self, infra: TestInfra) -> None:
        name, url = await migrated_database(infra.admin_database_url, services=("auth",))
        try:
            await asyncio.to_thread(downgrade, migrations_dir("auth"), url)
            assert await _tables(url) == set()
            await asyncio.to_thread(upgrade, migrations_dir("auth"), url)
            assert await _tables(url) == TABLES
        finally:
            await drop_database(infra.admin_database_url, name)
