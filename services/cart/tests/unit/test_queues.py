"""The cart's queues are among those test and benchmark runs remove afterwards."""

from empora_cart.consumers import CartHandlers, subscriptions
from empora_common.testing.infra import PLATFORM_QUEUES


def test_the_consumer_queues_are_listed_for_clean_up() -> None:
    queues = {s.queue for s in subscriptions(CartHandlers())}
    assert queues and queues <= set(PLATFORM_QUEUES)
