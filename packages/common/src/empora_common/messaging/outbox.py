"""Transactional outbox: events are rows written with the change, published by a relay."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import orjson
import structlog
from aio_pika.abc import AbstractConnection
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from empora_common import tracing
from empora_common.db import plain_database_url
from empora_common.logging import current_request_id
from empora_common.messaging.envelope import Envelope
from empora_common.messaging.topology import Names, declare_events_exchange
from empora_common.metrics import ServiceMetrics

log = structlog.get_logger("empora.outbox")


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a schema's relay."""
    return f"{schema}_outbox"


async def add_event(
    session: AsyncSession,
    outbox: Table,
    event_type: str,
    data: dict[str, Any],
    *,
    aggregate_id: str | uuid.UUID | None = None,
    version: int = 1,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Write an event in the caller's transaction; it is published after the commit."""
    eid = event_id or uuid.uuid4()
    await add_events(
        session,
        outbox,
        [
            {
                "id": eid,
                "event_type": event_type,
                "version": version,
                "aggregate_id": str(aggregate_id) if aggregate_id is not None else None,
                "data": data,
            }
        ],
    )
    return eid


_INSERT_EVENTS: dict[str, Any] = {}


def _insert_events_statement(outbox: Table) -> Any:
    """The insert-and-notify statement of an outbox table (built once per table).

    The rows travel as one array per column through ``unnest``, so the statement text is the
    same for one event or ten: SQLAlchemy compiles it once and asyncpg prepares it once per
    connection (a multi-row ``VALUES`` insert in a CTE is recompiled on every call).
    """
    statement = _INSERT_EVENTS.get(outbox.fullname)
    if statement is None:
        # Quoted: a schema may be a reserved word ("order").
        name = f'"{outbox.schema}"."{outbox.name}"' if outbox.schema else f'"{outbox.name}"'
        statement = _INSERT_EVENTS[outbox.fullname] = text(
            f"WITH inserted AS ("
            f" INSERT INTO {name}"
            " (id, event_type, version, aggregate_id, correlation_id, data, traceparent)"
            " SELECT * FROM unnest("
            " CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:versions AS int[]),"
            " CAST(:aggregates AS text[]), CAST(:correlations AS text[]),"
            " CAST(:data AS jsonb[]), CAST(:traceparents AS text[]))"
            " RETURNING seq)"
            " SELECT pg_notify(:channel, '') FROM inserted LIMIT 1"
        )
    return statement


def _columns(events: list[dict[str, Any]]) -> tuple[list[Any], ...]:
    """The rows of some events as one array per column (ids, types, versions, aggregates,
    correlations, data, traceparents), in the column order of ``outbox_rows_sql``."""
    correlation_id = current_request_id()
    traceparent = tracing.current_traceparent()
    return (
        [e.get("id") or uuid.uuid4() for e in events],
        [e["event_type"] for e in events],
        [e.get("version", 1) for e in events],
        [e.get("aggregate_id") for e in events],
        [correlation_id] * len(events),
        [orjson.dumps(e["data"]).decode() for e in events],
        [traceparent] * len(events),
    )


async def add_events(session: AsyncSession, outbox: Table, events: list[dict[str, Any]]) -> None:
    """Write several events (dicts of ``id``, ``event_type``, ``version``, ``aggregate_id``,
    ``data``) in one statement that also wakes the relay."""
    if not events:
        return
    ids, types, versions, aggregates, correlations, data, traceparents = _columns(events)
    # One round trip: the insert and the NOTIFY (delivered on commit only, so the relay never
    # wakes for a rolled-back event).
    await session.execute(
        _insert_events_statement(outbox),
        {
            "ids": ids,
            "types": types,
            "versions": versions,
            "aggregates": aggregates,
            "correlations": correlations,
            "data": data,
            "traceparents": traceparents,
            "channel": notify_channel(outbox.schema or ""),
        },
    )


# --- the same for code on a plain asyncpg connection (hot paths without the ORM) -----------

OUTBOX_PARAMS = 7


def outbox_rows_sql(schema: str, first: int) -> str:
    """``INSERT`` of outbox rows ``RETURNING seq``, for a CTE of a larger statement; its rows
    come as the arrays ``$first`` .. ``$first+6`` (``outbox_params``)."""
    p = [f"${first + n}" for n in range(OUTBOX_PARAMS)]
    return (
        f'INSERT INTO "{schema}".outbox'
        " (id, event_type, version, aggregate_id, correlation_id, data, traceparent)"
        f" SELECT * FROM unnest({p[0]}::uuid[], {p[1]}::text[], {p[2]}::int[],"
        # The JSON travels as text: a connection may carry its own jsonb codec.
        f" {p[3]}::text[], {p[4]}::text[], {p[5]}::text[]::jsonb[], {p[6]}::text[])"
        " RETURNING seq"
    )


def outbox_params(events: list[dict[str, Any]]) -> list[Any]:
    """The arguments of ``outbox_rows_sql`` for some events (see ``add_events``)."""
    return list(_columns(events))


class OutboxRelay:
    """Publishes unpublished outbox rows in order, with publisher confirms and ``mandatory``.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several relays can run; woken by
    LISTEN/NOTIFY with a polling fallback; reconnects to the broker by itself; purges rows
    older than the retention period.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        database_url: str,
        outbox: Table,
        inbox: Table | None,
        amqp_url: str,
        producer: str,
        names: Names,
        poll_interval: float = 1.0,
        outbox_retention: timedelta = timedelta(hours=72),
        inbox_retention: timedelta = timedelta(days=14),
        batch_size: int = 100,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.engine = engine
        self.database_url = database_url
        self.outbox = outbox
        self.inbox = inbox
        self.amqp_url = amqp_url
        self.producer = producer
        self.names = names
        self.poll_interval = poll_interval
        self.outbox_retention = outbox_retention
        self.inbox_retention = inbox_retention
        self.batch_size = batch_size
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._connection: AbstractConnection | None = None
        self._db: asyncpg.Connection | None = None
        self._claim_sql = ""
        self._mark_sql = ""
        self._last_purge = 0.0
        self.connected = False

    @property
    def _qualified(self) -> str:
        return f'"{self.outbox.schema}".outbox'

    async def run(self) -> None:
        """Relay until ``stop``; never raises for broker or database outages."""
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._ensure_db()
                channel = await self._ensure_channel()
                exchange = await declare_events_exchange(channel, self.names)
                backoff = 0.2
                while not self._stopping.is_set():
                    published = await self._publish_batch(exchange)
                    await self._maybe_purge()
                    if published < self.batch_size:
                        await self._wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected = False
                log.warning("outbox_relay_error", error=str(exc), error_type=type(exc).__name__)
                await self._close_channel()
                await self._close_db()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, 5.0)

    _channel: Any = None

    async def _ensure_channel(self) -> Any:
        if self._connection is None or self._connection.is_closed:
            self._connection = await aio_pika.connect(self.amqp_url, timeout=5)
        if self._channel is None or self._channel.is_closed:
            connection = self._connection
            self._channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self.connected = True
        return self._channel

    async def _close_channel(self) -> None:
        conn, self._connection, self._channel = self._connection, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _ensure_db(self) -> asyncpg.Connection:
        """The relay's own connection: it listens for the wake-ups and runs the batches.

        Plain asyncpg and constant statements: each event used to cost the relay a pool
        checkout and ORM statement handling, ~2.5 ms of CPU per event on the checkout's path.
        """
        if self._db is None or self._db.is_closed():
            self._db = await asyncpg.connect(plain_database_url(self.database_url))
            await self._db.add_listener(
                notify_channel(self.outbox.schema or ""), lambda *_: self._wake.set()
            )
            self._claim_sql = (
                "SELECT seq, id, event_type, version, aggregate_id, correlation_id,"
                f" data::text AS data, occurred_at, traceparent FROM {self._qualified}"
                " WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
            )
            self._mark_sql = (
                f"UPDATE {self._qualified} SET published_at = now(), attempts = attempts + 1"
                " WHERE seq = ANY($1::bigint[])"
            )
        return self._db

    async def _close_db(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close(timeout=2)

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        self._wake.clear()

    async def _publish_batch(self, exchange: Any) -> int:
        db = await self._ensure_db()
        async with db.transaction():
            rows = await db.fetch(self._claim_sql, self.batch_size)
            if not rows:
                return 0
            done: list[int] = []
            failure: Exception | None = None
            for row in rows:
                try:
                    await self._publish_row(exchange, row)
                except Exception as exc:
                    failure = exc
                    break
                done.append(row["seq"])
            # Mark what the broker confirmed even when a later row failed, so a broker that
            # dies mid-batch re-sends only the unconfirmed rows.
            if done:
                await db.execute(self._mark_sql, done)
        if failure is not None:
            raise failure
        return len(done)

    async def _publish_row(self, exchange: Any, row: asyncpg.Record) -> None:
        if tracing.enabled():
            with tracing.producer_span(
                row["event_type"],
                row["traceparent"],
                {
                    "messaging.system": "rabbitmq",
                    "messaging.operation.type": "publish",
                    "messaging.destination.name": self.names.events,
                    "messaging.rabbitmq.destination.routing_key": row["event_type"],
                    "messaging.message.id": str(row["id"]),
                },
            ):
                await self._send_row(exchange, row, tracing.message_trace_headers())
        else:
            await self._send_row(exchange, row, None)

    async def _send_row(
        self, exchange: Any, row: asyncpg.Record, headers: dict[str, Any] | None
    ) -> None:
        envelope = Envelope(
            id=row["id"],
            type=row["event_type"],
            version=row["version"],
            occurred_at=row["occurred_at"],
            producer=self.producer,
            aggregate_id=row["aggregate_id"],
            sequence=row["seq"],
            correlation_id=row["correlation_id"],
            data=orjson.loads(row["data"]),
        )
        await exchange.publish(
            aio_pika.Message(
                envelope.to_bytes(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=str(envelope.id),
                type=envelope.type,
                correlation_id=envelope.correlation_id,
                timestamp=envelope.occurred_at,
                app_id=self.producer,
                headers=headers,
            ),
            routing_key=envelope.type,
            mandatory=True,
            timeout=10,
        )
        if self.metrics is not None:
            self.metrics.event("out", envelope.type, "published")

    async def _maybe_purge(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_purge < 600:
            return
        self._last_purge = loop.time()
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    f"DELETE FROM {self._qualified}"
                    f" WHERE published_at IS NOT NULL AND published_at < :cutoff"
                ),
                {"cutoff": now - self.outbox_retention},
            )
            if self.inbox is not None:
                await conn.execute(
                    text(f'DELETE FROM "{self.inbox.schema}".inbox WHERE processed_at < :cutoff'),
                    {"cutoff": now - self.inbox_retention},
                )

    async def stop(self) -> None:
        """Stop relaying and close connections."""
        self._stopping.set()
        self._wake.set()
        await self._close_channel()
        await self._close_db()

    async def purge_now(self) -> None:
        """Run the retention purge immediately (tests, CLI)."""
        self._last_purge = -1e9
        await self._maybe_purge()
