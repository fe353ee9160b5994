"""Plain-SQL helpers beside the ORM, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from empora_common.db import (
    ConnectionDep,
    PlainStatement,
    create_engine,
    create_sessionmaker,
    driver_connection,
    make_metadata,
    plain_connection,
    plain_database_url,
)
from empora_common.messaging.outbox import outbox_params, outbox_rows_sql
from empora_common.messaging.tables import outbox_table
from empora_common.testing.infra import AppServer

SCHEMA = "dbtest"
metadata = make_metadata(SCHEMA)
THING = sa.Table(
    "thing",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("doc", JSONB),
)
OUTBOX = outbox_table(metadata)


@pytest.fixture(scope="module")
async def engine(bare_database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(bare_database_url, pool_size=3)
    async with eng.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    yield eng
    async with eng.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    await eng.dispose()


async def names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(THING.c.name).order_by(THING.c.name))
        return list(rows.scalars())


# A literal value (kind), a JSON parameter (doc) and a parameter used twice (n).
INSERT = PlainStatement(
    sa.insert(THING)
    .values(
        id=sa.bindparam("t_id", type_=sa.Uuid),
        name=sa.func.concat(sa.bindparam("n", type_=sa.Text), "-", sa.bindparam("n")),
        kind="literal-kind",
        doc=sa.bindparam("t_doc", type_=JSONB),
    )
    .returning(THING.c.id, THING.c.name, THING.c.kind, THING.c.doc["a"].astext.label("a"))
)


class TestEngine:
    async def test_a_failed_statement_does_not_show_its_parameters(
        self, engine: AsyncEngine
    ) -> None:
        secret = "$argon2id$v=19$secret-hash"
        async with engine.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError) as caught:
                await conn.execute(sa.text("SELECT CAST(:v AS text), 1 / 0"), {"v": secret})
        assert secret not in str(caught.value)
        assert "hidden due to hide_parameters" in str(caught.value)


class TestPlainStatement:
    async def test_runs_with_literals_json_and_repeated_parameters(
        self, engine: AsyncEngine
    ) -> None:
        thing_id = uuid.uuid4()
        async with plain_connection(engine) as db:
            row = await INSERT.fetchrow(db, {"t_id": thing_id, "n": "x", "t_doc": {"a": "b"}})
        assert row is not None
        assert (row["id"], row["name"], row["kind"], row["a"]) == (
            thing_id,
            "x-x",
            "literal-kind",
            "b",
        )

    async def test_a_statement_on_a_plain_connection_commits_by_itself(
        self, engine: AsyncEngine
    ) -> None:
        async with plain_connection(engine) as db:
            assert not db.is_in_transaction()
            await INSERT.fetch(db, {"t_id": uuid.uuid4(), "n": "committed", "t_doc": None})
            assert not db.is_in_transaction()
        # Another connection sees it at once: no transaction was left open.
        assert "committed-committed" in await names(engine)

    async def test_a_failed_statement_leaves_nothing(self, engine: AsyncEngine) -> None:
        thing_id = uuid.uuid4()
        async with plain_connection(engine) as db:
            await INSERT.fetch(db, {"t_id": thing_id, "n": "once", "t_doc": None})
            with pytest.raises(asyncpg.UniqueViolationError):
                await INSERT.fetch(db, {"t_id": thing_id, "n": "twice", "t_doc": None})
            assert not db.is_in_transaction()
        assert "twice-twice" not in await names(engine)

    async def test_a_connection_killed_in_the_pool_fails_once_then_is_replaced(
        self, bare_database_url: str
    ) -> None:
        engine = create_engine(bare_database_url, pool_size=1)
        try:
            async with plain_connection(engine) as db:
                pid = await db.fetchval("SELECT pg_backend_pid()")
            # The server restarts, say: the pooled connection dies while idle.
            admin = await asyncpg.connect(plain_database_url(bare_database_url))
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            await admin.close()
            # asyncpg reports it in several ways, depending on when it noticed the close.
            with pytest.raises(Exception):
                async with plain_connection(engine) as db:
                    await db.fetchval("SELECT 1")
            for _ in range(3):
                async with plain_connection(engine) as db:
                    assert await db.fetchval("SELECT pg_backend_pid()") != pid
        finally:
            await engine.dispose()

    async def test_a_cancelled_statement_does_not_poison_the_pool(
        self, bare_database_url: str
    ) -> None:
        engine = create_engine(bare_database_url, pool_size=1)
        try:

            async def slow() -> None:
                async with plain_connection(engine) as db:
                    await db.fetchval("SELECT pg_sleep(5)")

            task = asyncio.create_task(slow())
            await asyncio.sleep(0.3)
            task.cancel()  # a client that went away mid-checkout
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(3):
                async with plain_connection(engine) as db:
                    assert await db.fetchval("SELECT 41 + 1") == 42
        finally:
            await engine.dispose()

    async def test_a_statement_error_keeps_the_connection(self, bare_database_url: str) -> None:
        engine = create_engine(bare_database_url, pool_size=1)
        try:
            async with plain_connection(engine) as db:
                pid = await db.fetchval("SELECT pg_backend_pid()")
            with pytest.raises(asyncpg.DivisionByZeroError):
                async with plain_connection(engine) as db:
                    await db.fetchval("SELECT 1 / 0")
            async with plain_connection(engine) as db:
                assert await db.fetchval("SELECT pg_backend_pid()") == pid
        finally:
            await engine.dispose()


class TestDriverConnection:
    async def test_plain_statements_join_the_sessions_transaction(
        self, engine: AsyncEngine
    ) -> None:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            conn = await driver_connection(session)
            # Begun even though the session had run nothing yet.
            assert conn.is_in_transaction()
            await conn.execute(
                f"INSERT INTO {SCHEMA}.thing (id, name, kind) VALUES ($1, 'rolled', 'k')",
                uuid.uuid4(),
            )
            await session.rollback()
        assert "rolled" not in await names(engine)
        async with sessionmaker() as session, session.begin():
            conn = await driver_connection(session)
            await conn.execute(
                f"INSERT INTO {SCHEMA}.thing (id, name, kind) VALUES ($1, 'kept', 'k')",
                uuid.uuid4(),
            )
        assert "kept" in await names(engine)


class TestConnectionDep:
    async def test_commits_on_success_and_rolls_back_on_error(
        self, engine: AsyncEngine, bare_database_url: str
    ) -> None:
        app = FastAPI()

        @app.post("/things/{name}")
        async def add(name: str, conn: ConnectionDep) -> dict[str, Any]:
            await conn.execute(
                f"INSERT INTO {SCHEMA}.thing (id, name, kind) VALUES ($1, $2, 'k')",
                uuid.uuid4(),
                name,
            )
            if name.startswith("bad"):
                raise ValueError("refused after the insert")
            return {"in_transaction": conn.is_in_transaction()}

        pool = await asyncpg.create_pool(
            plain_database_url(bare_database_url), min_size=0, max_size=2
        )

        async def state_app(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = {"pool": pool}
            await app(scope, receive, send)

        server = await AppServer(state_app).start()
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{server.url}/things/good-one") as resp:
                    assert resp.status == 200
                    assert await resp.json() == {"in_transaction": True}
                async with http.post(f"{server.url}/things/bad-one") as resp:
                    assert resp.status == 500
        finally:
            await server.stop()
            await pool.close()
        stored = await names(engine)
        assert "good-one" in stored
        assert "bad-one" not in stored


class TestOutboxRowsSql:
    async def test_writes_events_inside_a_larger_statement(self, engine: AsyncEngine) -> None:
        events = [
            {"event_type": "thing.made", "aggregate_id": "a1", "data": {"n": 1}},
            {"event_type": "thing.made", "version": 2, "data": {"n": 2}},
        ]
        sql = f"WITH events AS ({outbox_rows_sql(SCHEMA, 1)}) SELECT count(*) FROM events"
        async with plain_connection(engine) as db:
            assert await db.fetchval(sql, *outbox_params(events)) == 2
            rows = await db.fetch(
                f"SELECT event_type, version, aggregate_id, data->>'n' AS n"
                f" FROM {SCHEMA}.outbox ORDER BY seq"
            )
        assert [tuple(r) for r in rows] == [
            ("thing.made", 1, "a1", "1"),
            ("thing.made", 2, None, "2"),
        ]
