"""Async SQLAlchemy per service schema, and the request's unit of work."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    """A MetaData bound to the service's schema with a stable naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_database_url(url: str) -> str:
    """``postgresql://...`` as the asyncpg dialect URL (services add their driver themselves)."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        scheme = "postgresql+asyncpg"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def plain_database_url(url: str) -> str:
    """The URL as libpq / asyncpg.connect expect it (no SQLAlchemy driver suffix)."""
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def create_engine(
    url: str, *, pool_size: int = 10, application_name: str = "empora"
) -> AsyncEngine:
    """An asyncpg engine; the service's schema is addressed through its MetaData."""
    return create_async_engine(
        async_database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
        # A failed statement's exception (and so the error log) shows no bound values: they
        # hold users' e-mail addresses, password hashes and tokens.
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": application_name}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commit on success, roll back on error."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# "function" scope: the commit happens before the response is sent, so a failed commit
# is reported to the client instead of after a success it already received.
SessionDep = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]


_BEGIN = text("SELECT 1")


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under a session, inside the session's transaction.

    For hot paths that run plain SQL beside the ORM. SQLAlchemy begins its transaction with
    the first statement it runs; if none ran yet, one trivial statement begins it here, so that
    plain statements can never run outside the unit of work (autocommitted).
    """
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    if not driver.is_in_transaction():
        await session.execute(_BEGIN)
    return driver


async def transaction_unit_of_work(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A unit of work on the service's asyncpg pool (``state.pool``) for hot routes written
    in plain SQL: one transaction, committed on success, rolled back on error."""
    pool: asyncpg.Pool = request.state.pool
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        except BaseException:
            await transaction.rollback()
            raise
        await transaction.commit()


ConnectionDep = Annotated[asyncpg.Connection, Depends(transaction_unit_of_work, scope="function")]


_ASYNCPG = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class PlainStatement:
    """A prebuilt Core statement compiled once into asyncpg's SQL and run on a plain asyncpg
    connection or pool: one round trip without the session, the ORM's execution machinery or
    the greenlet hop (measured here: a one-statement session transaction ~1 ms of CPU).

    Outside a transaction (``plain_connection``), a single statement is its own transaction:
    no BEGIN/COMMIT round trips, which is all a one-statement unit of work needs. Parameters
    go through the types' own bind processors (JSON is serialized to text) and missing ones
    take the statement's literal values. Results come back as asyncpg records.
    """

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=_ASYNCPG)
        self.sql = compiled.string
        literals = compiled.params
        self._params: list[tuple[str, Any, Any]] = []
        for name in compiled.positiontup or ():
            bind_type = compiled.binds[name].type
            processor = bind_type.dialect_impl(_ASYNCPG).bind_processor(_ASYNCPG)
            self._params.append((name, processor, literals.get(name)))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments of ``params`` (by name) for asyncpg."""
        out: list[Any] = []
        for name, processor, literal in self._params:
            value = params.get(name, literal)
            out.append(processor(value) if processor is not None and value is not None else value)
        return out

    async def fetch(
        self, db: asyncpg.Pool | asyncpg.Connection, params: Mapping[str, Any]
    ) -> list[asyncpg.Record]:
        """All rows."""
        return list(await db.fetch(self.sql, *self.args(params)))

    async def fetchrow(
        self, db: asyncpg.Pool | asyncpg.Connection, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """The first row, or None."""
        row: asyncpg.Record | None = await db.fetchrow(self.sql, *self.args(params))
        return row


@contextlib.asynccontextmanager
async def plain_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the engine's pool as plain asyncpg, outside any transaction: each
    statement on it commits by itself (for ``PlainStatement`` units of work)."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        try:
            yield driver
        except BaseException as exc:
            # The ORM never sees these failures, so it would pool the connection again: keep
            # it only after a statement's own error (a unique violation, say); drop it when
            # the server went away (a restart) or an operation was cut off (a cancelled
            # request), as the ORM drops one whose error it sees itself.
            if not _statement_error(exc) or driver.is_closed():
                await conn.invalidate()
            raise


def _statement_error(exc: BaseException) -> bool:
    """An error of one statement, after which the connection is fine."""
    return isinstance(exc, asyncpg.PostgresError) and not isinstance(
        exc, (asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError)
    )
