"""Outbox relay and idempotent consumers against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from empora_common import tracing
from empora_common.db import create_engine, create_sessionmaker, make_metadata
from empora_common.messaging.consumer import EventConsumer, Subscription
from empora_common.messaging.envelope import Envelope
from empora_common.messaging.outbox import OutboxRelay, add_event
from empora_common.messaging.tables import create_messaging_tables, inbox_table, outbox_table
from empora_common.messaging.topology import Names, declare_events_exchange
from empora_common.testing.infra import TestInfra, remove_amqp_names
from empora_common.testing.tcpproxy import TcpProxy
from empora_common.testing.traces import (
    RecordedSpans,
    parent_id,
    recording_spans,
    span_id,
    trace_hex,
)

SCHEMA = "msgtest"
metadata = make_metadata(SCHEMA)
OUTBOX = outbox_table(metadata)
INBOX = inbox_table(metadata)
EFFECTS = sa.Table(
    "effect",
    metadata,
    sa.Column("event_id", sa.Uuid, primary_key=False),
    sa.Column("value", sa.Text),
)


def _create(conn: sa.Connection) -> None:
    conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    create_messaging_tables(Operations(MigrationContext.configure(conn)), SCHEMA)
    conn.execute(sa.text(f"CREATE TABLE {SCHEMA}.effect (event_id uuid, value text)"))


@pytest.fixture(scope="module")
async def engine(bare_database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(bare_database_url, pool_size=5)
    async with eng.begin() as conn:
        await conn.run_sync(_create)
    yield eng
    async with eng.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    await eng.dispose()


@pytest.fixture
def names() -> Names:
    """Fresh exchange/queue names per test, so tests never see each other's messages."""
    return Names(f"m{uuid.uuid4().hex[:8]}.")


@pytest.fixture(autouse=True)
async def clean(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {SCHEMA}.outbox, {SCHEMA}.inbox, {SCHEMA}.effect"))


async def write_events(
    engine: AsyncEngine, count: int, event_type: str = "thing.happened"
) -> list[uuid.UUID]:
    sessionmaker = create_sessionmaker(engine)
    ids = []
    async with sessionmaker() as session, session.begin():
        for i in range(count):
            ids.append(await add_event(session, OUTBOX, event_type, {"n": i}, aggregate_id="a1"))
    return ids


async def record_effect(session: AsyncSession, env: Envelope) -> None:
    await session.execute(EFFECTS.insert().values(event_id=env.id, value=str(env.data["n"])))


async def effects(engine: AsyncEngine) -> list[tuple[uuid.UUID, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(EFFECTS.c.event_id, EFFECTS.c.value))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def eventually(check: Any, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def make_relay(engine: AsyncEngine, database_url: str, amqp_url: str, names: Names) -> OutboxRelay:
    return OutboxRelay(
        engine=engine,
        database_url=database_url,
        outbox=OUTBOX,
        inbox=INBOX,
        amqp_url=amqp_url,
        producer="msgtest",
        names=names,
        poll_interval=0.2,
    )


def make_consumer(
    engine: AsyncEngine,
    amqp_url: str,
    names: Names,
    handler: Any = record_effect,
    *,
    plain: bool = False,
    **kw: Any,
) -> EventConsumer:
    """A consumer of ``thing.happened`` on ``msgtest.effects`` (``kw`` overrides its settings)."""
    return EventConsumer(
        subscription=Subscription(
            queue="msgtest.effects", handlers={"thing.happened": handler}, plain=plain
        ),
        sessionmaker=create_sessionmaker(engine),
        inbox=INBOX,
        amqp_url=amqp_url,
        names=names,
        **{"delivery_limit": 3, "retry_delay": 0.05, **kw},
    )


def envelope(n: int) -> Envelope:
    """A ``thing.happened`` event carrying ``n``."""
    return Envelope(
        id=uuid.uuid4(),
        type="thing.happened",
        version=1,
        occurred_at="2026-11-25T10:00:00Z",
        producer="test",
        data={"n": n},
    )


async def publish(amqp_url: str, names: Names, *bodies: bytes) -> None:
    """Publish raw bodies to the events exchange, as a producer would."""
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel()
        exchange = await channel.get_exchange(names.events)
        for body in bodies:
            await exchange.publish(aio_pika.Message(body), routing_key="thing.happened")
    finally:
        await conn.close()


async def queue_depth(amqp_url: str, name: str) -> int:
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel()
        queue = await channel.declare_queue(name, passive=True)
        return int(queue.declaration_result.message_count or 0)
    finally:
        await conn.close()


async def delete_names(amqp_url: str, names: Names) -> None:
    await remove_amqp_names(amqp_url, names.prefix, ("msgtest.effects",))


class TestOutboxToConsumer:
    async def test_event_written_in_transaction_is_consumed_once(
        self, engine: AsyncEngine, bare_database_url: str, infra: TestInfra, names: Names
    ) -> None:
        consumer = make_consumer(engine, infra.amqp_url, names)
        await consumer.start()
        relay = make_relay(engine, bare_database_url, infra.amqp_url, names)
        task = asyncio.create_task(relay.run())
        try:
            ids = await write_events(engine, 5)

            async def all_applied() -> bool:
                return len(await effects(engine)) == 5

            await eventually(all_applied)
            assert sorted(e[0] for e in await effects(engine)) == sorted(ids)

            # The relay marks a row published after the broker's confirm, which can come
            # after the consumer has already applied the event.
            async def all_marked_published() -> bool:
                async with engine.connect() as conn:
                    unpublished = await conn.scalar(
                        sa.text(f"SELECT count(*) FROM {SCHEMA}.outbox WHERE published_at IS NULL")
                    )
                return unpublished == 0

            await eventually(all_marked_published)
        finally:
            await relay.stop()
            task.cancel()
            await consumer.stop()
            await delete_names(infra.amqp_url, names)

    async def test_rolled_back_event_is_never_published(
        self, engine: AsyncEngine, infra: TestInfra
    ) -> None:
        sessionmaker = create_sessionmaker(engine)
        with pytest.raises(RuntimeError):
            async with sessionmaker() as session, session.begin():
                await add_event(session, OUTBOX, "thing.happened", {"n": 1})
                raise RuntimeError("business rule failed")
        async with engine.connect() as conn:
            assert await conn.scalar(sa.text(f"SELECT count(*) FROM {SCHEMA}.outbox")) == 0

    async def test_unrouted_event_is_kept_in_the_unrouted_queue(
        self, engine: AsyncEngine, bare_database_url: str, infra: TestInfra, names: Names
    ) -> None:
        relay = make_relay(engine, bare_database_url, infra.amqp_url, names)
        task = asyncio.create_task(relay.run())
        try:
            await write_events(engine, 2, event_type="nobody.listens")

            async def kept() -> bool:
                try:
                    return await queue_depth(infra.amqp_url, names.unrouted_queue) == 2
                except Exception:
                    return False

            await eventually(kept)
        finally:
            await relay.stop()
            task.cancel()
            await delete_names(infra.amqp_url, names)


class TestIdempotentConsumer:
    async def test_duplicate_delivery_is_applied_once(
        self, engine: AsyncEngine, infra: TestInfra, names: Names
    ) -> None:
        consumer = make_consumer(engine, infra.amqp_url, names)
        await consumer.start()
        try:
            env = envelope(7)
            await publish(infra.amqp_url, names, *[env.to_bytes()] * 3)

            async def consumed() -> bool:
                return await queue_depth(infra.amqp_url, names.queue("msgtest.effects")) == 0

            await eventually(consumed)
            await asyncio.sleep(0.3)
            assert await effects(engine) == [(env.id, "7")]
        finally:
            await consumer.stop()
            await delete_names(infra.amqp_url, names)

    async def test_plain_subscription_applies_once_on_a_plain_connection(
        self, engine: AsyncEngine, infra: TestInfra, names: Names
    ) -> None:
        failures = 1

        async def record_plain(conn: asyncpg.Connection, env: Envelope) -> None:
            nonlocal failures
            assert isinstance(conn, asyncpg.Connection) and conn.is_in_transaction()
            await conn.execute(
                f"INSERT INTO {SCHEMA}.effect (event_id, value) VALUES ($1, $2)",
                env.id,
                str(env.data["n"]),
            )
            if failures:
                # The effect above and the inbox row roll back: the redelivery applies it.
                failures -= 1
                raise RuntimeError("first delivery fails after writing")

        consumer = make_consumer(engine, infra.amqp_url, names, record_plain, plain=True)
        await consumer.start()
        try:
            env = envelope(8)
            await publish(infra.amqp_url, names, *[env.to_bytes()] * 3)

            async def applied() -> bool:
                return await effects(engine) == [(env.id, "8")]

            await eventually(applied)

            async def consumed() -> bool:
                return await queue_depth(infra.amqp_url, names.queue("msgtest.effects")) == 0

            await eventually(consumed)
            await asyncio.sleep(0.3)
            assert await effects(engine) == [(env.id, "8")]
            assert failures == 0
        finally:
            await consumer.stop()
            await delete_names(infra.amqp_url, names)

    async def test_poison_message_goes_to_dead_letter_queue_and_consumer_keeps_going(
        self, engine: AsyncEngine, infra: TestInfra, names: Names
    ) -> None:
        consumer = make_consumer(engine, infra.amqp_url, names)
        await consumer.start()
        try:
            good = envelope(1)
            await publish(infra.amqp_url, names, b"{not json", good.to_bytes())

            async def dead_lettered() -> bool:
                return await queue_depth(infra.amqp_url, names.dlq("msgtest.effects")) == 1

            await eventually(dead_lettered)

            async def good_applied() -> bool:
                return await effects(engine) == [(good.id, "1")]

            await eventually(good_applied)
        finally:
            await consumer.stop()
            await delete_names(infra.amqp_url, names)

    async def test_handler_failing_every_time_is_dead_lettered_after_the_delivery_limit(
        self, engine: AsyncEngine, infra: TestInfra, names: Names
    ) -> None:
        calls = 0

        async def always_fails(_session: AsyncSession, _env: Envelope) -> None:
            nonlocal calls
            calls += 1
            raise RuntimeError("boom")

        consumer = make_consumer(
            engine, infra.amqp_url, names, always_fails, delivery_limit=2, retry_delay=0.01
        )
        await consumer.start()
        try:
            env = envelope(1)
            await publish(infra.amqp_url, names, env.to_bytes())

            async def dead_lettered() -> bool:
                return await queue_depth(infra.amqp_url, names.dlq("msgtest.effects")) == 1

            await eventually(dead_lettered)
            assert calls == 3  # the first delivery plus two redeliveries
            async with engine.connect() as conn2:
                # the failed attempts left no inbox row behind
                assert await conn2.scalar(sa.text(f"SELECT count(*) FROM {SCHEMA}.inbox")) == 0
        finally:
            await consumer.stop()
            await delete_names(infra.amqp_url, names)


class TestBrokerOutage:
    async def test_events_written_while_broker_is_down_are_delivered_after_it_returns(
        self, engine: AsyncEngine, bare_database_url: str, infra: TestInfra, names: Names
    ) -> None:
        parts = urlsplit(infra.amqp_url)
        proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672).start()
        via_proxy = infra.amqp_url.replace(
            f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}"
        )
        consumer = make_consumer(engine, infra.amqp_url, names)
        await consumer.start()
        relay = make_relay(engine, bare_database_url, via_proxy, names)
        task = asyncio.create_task(relay.run())
        try:
            await write_events(engine, 2)

            async def two() -> bool:
                return len(await effects(engine)) == 2

            await eventually(two)
            await proxy.cut()  # the broker is gone for the relay
            await write_events(engine, 3)
            await asyncio.sleep(1.0)
            async with engine.connect() as conn:
                pending = await conn.scalar(
                    sa.text(f"SELECT count(*) FROM {SCHEMA}.outbox WHERE published_at IS NULL")
                )
            assert pending == 3
            assert relay.connected is False
            await proxy.restore()

            async def five() -> bool:
                return len(await effects(engine)) == 5

            await eventually(five, timeout=30)
            assert len({e[0] for e in await effects(engine)}) == 5
        finally:
            await relay.stop()
            task.cancel()
            await proxy.stop()
            await consumer.stop()
            await delete_names(infra.amqp_url, names)


class TestRetention:
    async def test_old_published_rows_and_inbox_entries_are_purged(
        self, engine: AsyncEngine, bare_database_url: str, infra: TestInfra, names: Names
    ) -> None:
        await write_events(engine, 2)
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    f"UPDATE {SCHEMA}.outbox SET published_at = now() - interval '100 hours'"
                    f" WHERE seq = (SELECT min(seq) FROM {SCHEMA}.outbox)"
                )
            )
            await conn.execute(
                sa.text(
                    f"INSERT INTO {SCHEMA}.inbox (consumer, event_id, event_type, processed_at)"
                    f" VALUES"
                    f" ('c', gen_random_uuid(), 't', now() - interval '30 days'),"
                    f" ('c', gen_random_uuid(), 't', now())"
                )
            )
        relay = make_relay(engine, bare_database_url, infra.amqp_url, names)
        await relay.purge_now()
        async with engine.connect() as conn:
            assert await conn.scalar(sa.text(f"SELECT count(*) FROM {SCHEMA}.outbox")) == 1
            assert await conn.scalar(sa.text(f"SELECT count(*) FROM {SCHEMA}.inbox")) == 1


class TestUnroutedQueue:
    async def test_keeps_only_the_newest_unrouted_events(
        self, infra: TestInfra, names: Names
    ) -> None:
        conn = await aio_pika.connect(infra.amqp_url)
        try:
            channel = await conn.channel()
            exchange = await declare_events_exchange(channel, names, unrouted_max_length=3)
            for n in range(5):
                await exchange.publish(aio_pika.Message(str(n).encode()), routing_key="nobody.x")
            queue = await channel.declare_queue(names.unrouted_queue, passive=True)
            kept = []
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                kept.append(message.body.decode())
            assert kept == ["2", "3", "4"]
        finally:
            await delete_names(infra.amqp_url, names)
            await conn.close()

    async def test_an_unbounded_queue_from_an_older_version_is_used_as_it_is(
        self, infra: TestInfra, names: Names
    ) -> None:
        conn = await aio_pika.connect(infra.amqp_url)
        try:
            channel = await conn.channel()
            await channel.declare_queue(names.unrouted_queue, durable=True)  # no bound
            exchange = await declare_events_exchange(channel, names, unrouted_max_length=1)
            for n in range(2):
                await exchange.publish(aio_pika.Message(str(n).encode()), routing_key="nobody.x")
            assert await queue_depth(infra.amqp_url, names.unrouted_queue) == 2
        finally:
            await delete_names(infra.amqp_url, names)
            await conn.close()


@pytest.fixture
def spans() -> Iterator[RecordedSpans]:
    with recording_spans() as recorded:
        yield recorded


class TestTraceContext:
    async def test_an_event_carries_its_writers_trace_to_the_consumer(
        self,
        spans: RecordedSpans,
        engine: AsyncEngine,
        bare_database_url: str,
        infra: TestInfra,
    ) -> None:
        names = Names("tr.")
        seen: list[str | None] = []

        async def handler(session: AsyncSession, env: Envelope) -> None:
            # Inside the consumer's span: events written here would continue the trace.
            seen.append(tracing.current_traceparent())
            await record_effect(session, env)

        consumer = make_consumer(engine, infra.amqp_url, names, handler)
        await consumer.start()
        relay = make_relay(engine, bare_database_url, infra.amqp_url, names)
        task = asyncio.create_task(relay.run())
        try:
            assert tracing._tracer is not None
            with tracing._tracer.start_as_current_span("checkout") as writer:
                await write_events(engine, 1)
            writer_id = writer.get_span_context().span_id

            async def applied() -> bool:
                return len(await effects(engine)) == 1

            await eventually(applied)
            async with engine.connect() as conn:
                stored = await conn.scalar(sa.text(f"SELECT traceparent FROM {SCHEMA}.outbox"))
        finally:
            await relay.stop()
            task.cancel()
            await consumer.stop()
            await delete_names(infra.amqp_url, names)

        recorded = spans.finished()
        trace_id = f"{writer.get_span_context().trace_id:032x}"
        assert stored is not None and stored.split("-")[1:3] == [trace_id, f"{writer_id:016x}"]
        (producer,) = [s for s in recorded if s.kind == SpanKind.PRODUCER]
        (consumed,) = [s for s in recorded if s.kind == SpanKind.CONSUMER]
        assert producer.name == "thing.happened publish"
        assert consumed.name == "msgtest.effects process"
        assert {trace_hex(producer), trace_hex(consumed)} == {trace_id}
        assert parent_id(producer) == writer_id
        assert parent_id(consumed) == span_id(producer)
        assert [tp.split("-")[1:3] if tp else None for tp in seen] == [
            [trace_id, f"{span_id(consumed):016x}"]
        ]

    async def test_tracing_off_leaves_the_outbox_column_empty(
        self,
        engine: AsyncEngine,
    ) -> None:
        assert not tracing.enabled()
        await write_events(engine, 1)
        async with engine.connect() as conn:
            stored = await conn.scalar(sa.text(f"SELECT traceparent FROM {SCHEMA}.outbox"))
        assert stored is None
        assert OUTBOX.c.traceparent is not None
