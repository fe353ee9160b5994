"""Pure rules of the notification service."""

from __future__ import annotations

import pytest

from empora_notification.notifications.service import RetryPolicy


class TestRetryPolicy:
    @pytest.mark.parametrize(("attempts", "delay"), [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0)])
    def test_doubles_from_the_base_up_to_the_cap(self, attempts: int, delay: float) -> None:
        policy = RetryPolicy(max_attempts=8, base_delay=2.0, max_delay=60.0)

        assert policy.delay(attempts) == delay

    def test_never_waits_less_than_the_base(self) -> None:
        assert RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=10).delay(0) == 0.5
