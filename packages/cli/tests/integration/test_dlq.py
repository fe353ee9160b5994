"""Dead-letter queues on the real broker: list, peek, replay."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel
from typer.testing import CliRunner

from empora_cli import dlq
from empora_common.messaging.topology import Names, declare_consumer_queue
from empora_common.testing.infra import TestInfra

QUEUE = "notification.emails"


@pytest.fixture
def names() -> Names:
    """A prefix of this test alone, so counts are exact."""
    return Names(f"t{uuid.uuid4().hex[:8]}.")


@pytest.fixture
async def channel(infra: TestInfra, names: Names) -> AsyncIterator[AbstractChannel]:
    """A channel with the consumer queue and its DLQ declared; both deleted afterwards."""
    connection = await aio_pika.connect(infra.amqp_url)
    channel = await connection.channel()
    await declare_consumer_queue(channel, names, QUEUE, ["order.paid"], delivery_limit=2)
    yield channel
    for name in (names.queue(QUEUE), names.dlq(QUEUE), names.unrouted_queue):
        with contextlib.suppress(Exception):
            await channel.queue_delete(name)
    for name in (names.events, names.unrouted_exchange):
        with contextlib.suppress(Exception):
            await channel.exchange_delete(name)
    await connection.close()


async def dead_letter(channel: AbstractChannel, names: Names, event_type: str) -> str:
    """Put one envelope straight into the DLQ; returns its event id."""
    event_id = str(uuid.uuid4())
    body = json.dumps({"id": event_id, "type": event_type, "version": 1, "data": {}}).encode()
    await channel.default_exchange.publish(
        aio_pika.Message(
            body,
            message_id=event_id,
            type=event_type,
            headers={"x-first-death-reason": "delivery_limit"},
        ),
        routing_key=names.dlq(QUEUE),
    )
    return event_id


async def ready(channel: AbstractChannel, name: str) -> int:
    queue = await channel.declare_queue(name, passive=True)
    return int(queue.declaration_result.message_count or 0)


class TestListDeadLetters:
    async def test_counts_and_peeks_without_taking_them(
        self, channel: AbstractChannel, infra: TestInfra, names: Names
    ) -> None:
        first = await dead_letter(channel, names, "order.paid")
        await dead_letter(channel, names, "order.shipped")

        reports = await dlq.list_dead_letters(infra.amqp_url, names.prefix, peek=1)

        by_queue = {r.queue: r for r in reports}
        assert [r.queue for r in reports] == list(dlq.CONSUMER_QUEUES)
        report = by_queue[QUEUE]
        assert (report.ready, report.dead) == (0, 2)
        assert [(p.event_type, p.event_id, p.reason) for p in report.peeked] == [
            ("order.paid", first, "delivery_limit")
        ]
        assert by_queue["cart.orders"].dead is None
        assert await ready(channel, names.dlq(QUEUE)) == 2


class TestReplay:
    async def test_moves_every_dead_letter_back_to_its_queue(
        self, channel: AbstractChannel, infra: TestInfra, names: Names
    ) -> None:
        ids = {await dead_letter(channel, names, "order.paid") for _ in range(3)}

        moved = await dlq.replay(infra.amqp_url, QUEUE + ".dlq", names.prefix)

        assert moved == 3
        assert await ready(channel, names.dlq(QUEUE)) == 0
        queue = await channel.declare_queue(names.queue(QUEUE), passive=True)
        replayed = []
        while (message := await queue.get(fail=False)) is not None:
            replayed.append(message)
            await message.ack()
        assert {m.message_id for m in replayed} == ids
        assert all(m.headers.get("x-replay-count") == 1 for m in replayed)
        assert all("x-first-death-reason" not in m.headers for m in replayed)

    async def test_moves_at_most_the_limit(
        self, channel: AbstractChannel, infra: TestInfra, names: Names
    ) -> None:
        for _ in range(3):
            await dead_letter(channel, names, "order.paid")

        moved = await dlq.replay(infra.amqp_url, QUEUE, names.prefix, limit=2)

        assert moved == 2
        assert await ready(channel, names.dlq(QUEUE)) == 1

    async def test_refuses_an_unknown_queue(self, infra: TestInfra) -> None:
        with pytest.raises(dlq.DlqError, match=r"unknown queue 'orders\.nothing'"):
            await dlq.replay(infra.amqp_url, "orders.nothing")

    async def test_refuses_a_queue_nobody_declared(self, infra: TestInfra, names: Names) -> None:
        with pytest.raises(dlq.DlqError, match="does not exist"):
            await dlq.replay(infra.amqp_url, QUEUE, names.prefix)


class TestDlqCommands:
    async def test_list_prints_the_counts(
        self, channel: AbstractChannel, infra: TestInfra, names: Names
    ) -> None:
        from empora_cli.main import app

        event_id = await dead_letter(channel, names, "order.paid")
        env = {"AMQP_URL": infra.amqp_url, "AMQP_PREFIX": names.prefix}

        # The command runs its own event loop: give it a thread of its own.
        result = await asyncio.to_thread(CliRunner().invoke, app, ["dlq", "list"], env=env)

        assert result.exit_code == 0, result.output
        line = next(line for line in result.output.splitlines() if QUEUE in line)
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        assert cells[:3] == [QUEUE, "0", "1"]
        assert event_id in result.output

    def test_replay_of_an_unknown_queue_exits_1_with_the_known_ones(self, infra: TestInfra) -> None:
        from empora_cli.main import app

        result = CliRunner().invoke(
            app, ["dlq", "replay", "nope"], env={"AMQP_URL": infra.amqp_url}
        )

        assert result.exit_code == 1
        assert "notification.emails" in result.output
