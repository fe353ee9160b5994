"""RabbitMQ topology: the events exchange, its alternate exchange, consumer queues and DLQs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from empora_common.constants import EVENTS_EXCHANGE, UNROUTED_EXCHANGE, UNROUTED_QUEUE

log = structlog.get_logger("empora.topology")


@dataclass(frozen=True)
class Names:
    """Exchange and queue names, with the per-run prefix tests use to stay apart."""

    prefix: str = ""

    @property
    def events(self) -> str:
        return f"{self.prefix}{EVENTS_EXCHANGE}"

    @property
    def unrouted_exchange(self) -> str:
        return f"{self.prefix}{UNROUTED_EXCHANGE}"

    @property
    def unrouted_queue(self) -> str:
        return f"{self.prefix}{UNROUTED_QUEUE}"

    def queue(self, name: str) -> str:
        """A consumer queue, ``<service>.<purpose>``."""
        return f"{self.prefix}{name}"

    def dlq(self, name: str) -> str:
        """The dead-letter queue of a consumer queue."""
        return f"{self.prefix}{name}.dlq"


# The unrouted queue keeps the most recent events nobody consumes (stock.changed and
# order.created have no consumer yet: three per order): bounded, or it would grow for ever
# until the broker's memory alarm blocks every publisher.
UNROUTED_MAX_LENGTH = 100_000


async def declare_events_exchange(
    channel: AbstractChannel, names: Names, *, unrouted_max_length: int = UNROUTED_MAX_LENGTH
) -> AbstractExchange:
    """The durable topic exchange, with an alternate exchange keeping unrouted events (the
    newest ``unrouted_max_length`` of them; older ones are dropped)."""
    unrouted = await channel.declare_exchange(
        names.unrouted_exchange, aio_pika.ExchangeType.FANOUT, durable=True
    )
    try:
        queue = await channel.declare_queue(
            names.unrouted_queue,
            durable=True,
            arguments={"x-max-length": unrouted_max_length, "x-overflow": "drop-head"},
        )
    except aio_pika.exceptions.ChannelPreconditionFailed:
        # Declared earlier without the bound (Empora < 0.3): keep it as it is, say so, and go
        # on; the broker closed the channel on the refusal.
        log.warning(
            "unrouted_queue_unbounded",
            queue=names.unrouted_queue,
            hint="delete it (it is declared again with its bound) or set a max-length policy",
        )
        await channel.reopen()
        queue = await channel.declare_queue(names.unrouted_queue, passive=True)
    await queue.bind(unrouted)
    return await channel.declare_exchange(
        names.events,
        aio_pika.ExchangeType.TOPIC,
        durable=True,
        arguments={"alternate-exchange": names.unrouted_exchange},
    )


async def declare_consumer_queue(
    channel: AbstractChannel,
    names: Names,
    name: str,
    routing_keys: list[str],
    *,
    delivery_limit: int,
) -> AbstractQueue:
    """A durable quorum queue with a delivery limit and its own dead-letter queue."""
    exchange = await declare_events_exchange(channel, names)
    dlq_name = names.dlq(name)
    await channel.declare_queue(dlq_name, durable=True, arguments={"x-queue-type": "quorum"})
    queue = await channel.declare_queue(
        names.queue(name),
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq_name,
        },
    )
    for key in routing_keys:
        await queue.bind(exchange, routing_key=key)
    return queue


async def delete_names(channel: AbstractChannel, names: Names, queues: Iterable[str]) -> None:
    """Delete what a prefix declared: the given consumer queues with their dead-letter queues,
    the unrouted queue and both exchanges (for tests and benchmarks, which run under their own
    prefix and must not leave queues filling up in a shared broker). Missing names are fine."""
    for queue in queues:
        await channel.queue_delete(names.queue(queue))
        await channel.queue_delete(names.dlq(queue))
    await channel.queue_delete(names.unrouted_queue)
    await channel.exchange_delete(names.events)
    await channel.exchange_delete(names.unrouted_exchange)
