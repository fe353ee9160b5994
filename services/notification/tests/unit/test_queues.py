"""The notification service's queue is among those test and benchmark runs remove afterwards."""

from empora_common.testing.infra import PLATFORM_QUEUES
from empora_notification.consumers import EMAILS_QUEUE


def test_the_consumer_queue_is_listed_for_clean_up() -> None:
    assert EMAILS_QUEUE in PLATFORM_QUEUES
