"""Circuit breaker states and the retry budget."""

from __future__ import annotations

import time

from empora_gateway.breaker import BreakerState, CircuitBreaker, RetryBudget
from empora_gateway.metrics import GatewayMetrics


def _breaker(open_seconds: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker(
        "product", threshold=5, open_seconds=open_seconds, metrics=GatewayMetrics()
    )


class TestCircuitBreaker:
    def test_stays_closed_below_the_threshold(self) -> None:
        breaker = _breaker()
        for _ in range(4):
            breaker.record_failure()
        assert breaker.state is BreakerState.CLOSED
        assert breaker.allow()

    def test_opens_at_the_threshold_and_refuses(self) -> None:
        breaker = _breaker()
        for _ in range(5):
            breaker.record_failure()
        assert breaker.state is BreakerState.OPEN
        assert not breaker.allow()
        assert 1 <= breaker.retry_after() <= 30

    def test_a_success_resets_the_count(self) -> None:
        breaker = _breaker()
        for _ in range(4):
            breaker.record_failure()
        breaker.record_success()
        for _ in range(4):
            breaker.record_failure()
        assert breaker.state is BreakerState.CLOSED

    def test_half_open_lets_one_probe_through(self) -> None:
        breaker = _breaker(open_seconds=0.01)
        for _ in range(5):
            breaker.record_failure()
        time.sleep(0.02)
        assert breaker.state is BreakerState.HALF_OPEN
        assert breaker.allow()
        assert not breaker.allow()  # the probe is in flight
        breaker.record_success()
        assert breaker.state is BreakerState.CLOSED
        assert breaker.allow()

    def test_a_failed_probe_reopens(self) -> None:
        breaker = _breaker(open_seconds=0.01)
        for _ in range(5):
            breaker.record_failure()
        time.sleep(0.02)
        assert breaker.allow()
        breaker.record_failure()
        assert breaker._state is BreakerState.OPEN

    def test_a_released_probe_frees_the_slot(self) -> None:
        breaker = _breaker(open_seconds=0.01)
        for _ in range(5):
            breaker.record_failure()
        time.sleep(0.02)
        assert breaker.allow()
        breaker.release_probe()
        assert breaker.allow()

    def test_state_is_exported_as_a_gauge(self) -> None:
        metrics = GatewayMetrics()
        breaker = CircuitBreaker("cart", threshold=1, open_seconds=30, metrics=metrics)
        breaker.record_failure()
        assert metrics.registry.get_sample_value("gateway_circuit_state", {"upstream": "cart"}) == 1
        assert (
            metrics.registry.get_sample_value("gateway_circuit_opened_total", {"upstream": "cart"})
            == 1
        )


class TestRetryBudget:
    def test_retries_are_a_fraction_of_requests(self) -> None:
        budget = RetryBudget(ratio=0.2, min_per_second=0)
        for _ in range(10):
            budget.deposit()
        assert budget.withdraw()
        assert budget.withdraw()
        assert not budget.withdraw()

    def test_a_small_floor_allows_retries_at_low_traffic(self) -> None:
        now = [100.0]
        budget = RetryBudget(ratio=0.2, min_per_second=2, clock=lambda: now[0])
        assert [budget.withdraw() for _ in range(3)] == [True, True, False]
        now[0] = 101.0
        assert budget.withdraw()

    def test_the_budget_is_capped(self) -> None:
        budget = RetryBudget(ratio=1.0, min_per_second=0, cap=3)
        for _ in range(100):
            budget.deposit()
        assert [budget.withdraw() for _ in range(4)] == [True, True, True, False]


class TestProbing:
    def test_only_a_claimed_half_open_probe_is_probing(self) -> None:
        breaker = _breaker(open_seconds=0.01)
        assert breaker.allow() and not breaker.probing
        for _ in range(5):
            breaker.record_failure()
        time.sleep(0.02)
        assert not breaker.probing
        assert breaker.allow()
        assert breaker.probing
