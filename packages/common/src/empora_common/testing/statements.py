"""Counting what a process sends to PostgreSQL, whichever way it goes (ORM or plain asyncpg).

Wraps asyncpg's entry points for the duration of a ``with`` block: the simple query
protocol (``Connection.execute`` without arguments: BEGIN, COMMIT, SAVEPOINT...), extended
queries (``Connection._execute``: fetch/fetchrow/fetchval/execute with arguments), prepared
statements (SQLAlchemy's asyncpg dialect runs everything through them) and both ``executemany``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from asyncpg.connection import Connection
from asyncpg.prepared_stmt import PreparedStatement

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START")


@dataclass
class Sent:
    """One statement: the connection's application_name and the SQL text."""

    application: str
    sql: str

    @property
    def transaction_control(self) -> bool:
        return self.sql.lstrip().upper().startswith(TRANSACTION_CONTROL)


@dataclass
class StatementLog:
    sent: list[Sent] = field(default_factory=list)

    def of(self, *applications: str) -> list[Sent]:
        """What connections with these application names sent."""
        return [s for s in self.sent if s.application in applications]


def _application(conn: Connection) -> str:
    return str(conn.get_settings().application_name or "")


@contextlib.contextmanager
def count_statements() -> Iterator[StatementLog]:
    """Record every statement this process sends while the block runs."""
    log = StatementLog()
    execute, extended, many = Connection.execute, Connection._execute, Connection._executemany
    bind_execute = PreparedStatement._PreparedStatement__bind_execute
    prepared_many = PreparedStatement.executemany

    async def counted_execute(self: Connection, query: str, *args: Any, **kw: Any) -> Any:
        if not args:  # with arguments it goes through _execute, counted there
            log.sent.append(Sent(_application(self), query))
        return await execute(self, query, *args, **kw)

    async def counted_extended(self: Connection, query: str, *args: Any, **kw: Any) -> Any:
        log.sent.append(Sent(_application(self), query))
        return await extended(self, query, *args, **kw)

    async def counted_many(self: Connection, query: str, *args: Any, **kw: Any) -> Any:
        log.sent.append(Sent(_application(self), query))
        return await many(self, query, *args, **kw)

    async def counted_bind(self: PreparedStatement, *args: Any, **kw: Any) -> Any:
        log.sent.append(Sent(_application(self._connection), self._query))
        return await bind_execute(self, *args, **kw)

    async def counted_prepared_many(self: PreparedStatement, *args: Any, **kw: Any) -> Any:
        log.sent.append(Sent(_application(self._connection), self._query))
        return await prepared_many(self, *args, **kw)

    Connection.execute = counted_execute
    Connection._execute = counted_extended
    Connection._executemany = counted_many
    PreparedStatement._PreparedStatement__bind_execute = counted_bind
    PreparedStatement.executemany = counted_prepared_many
    try:
        yield log
    finally:
        Connection.execute = execute
        Connection._execute = extended
        Connection._executemany = many
        PreparedStatement._PreparedStatement__bind_execute = bind_execute
        PreparedStatement.executemany = prepared_many
