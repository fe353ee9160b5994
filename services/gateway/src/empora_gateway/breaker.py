"""Circuit breakers (outlier ejection) per upstream, and the retry budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

import structlog

from empora_gateway.metrics import BREAKER_STATES, GatewayMetrics

log = structlog.get_logger("empora.gateway.breaker")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures (5xx or no response; never 4xx).

    Open: requests are refused at once for ``open_seconds``. Then half-open: one probe request
    at a time goes through; its success closes the circuit, its failure opens it again.
    """

    def __init__(
        self,
        upstream: str,
        *,
        threshold: int,
        open_seconds: float,
        metrics: GatewayMetrics,
    ) -> None:
        self.upstream = upstream
        self.threshold = threshold
        self.open_seconds = open_seconds
        self.metrics = metrics
        self.failures = 0
        self.opened_at = 0.0
        self._state = BreakerState.CLOSED
        self._probe_in_flight = False
        metrics.breaker_state.labels(upstream).set(0)

    @property
    def state(self) -> BreakerState:
        """The current state (an open circuit turns half-open once its time is up)."""
        if (
            self._state is BreakerState.OPEN
            and time.monotonic() - self.opened_at >= self.open_seconds
        ):
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def retry_after(self) -> int:
        """Seconds until the next probe may run."""
        remaining = self.open_seconds - (time.monotonic() - self.opened_at)
        return max(1, int(remaining + 0.999))

    def allow(self) -> bool:
        """Whether a request may go to the upstream now (claims the probe when half-open)."""
        if self._state is BreakerState.CLOSED:
            return True
        state = self.state
        if state is BreakerState.OPEN:
            return False
        if self._probe_in_flight:
            return False
        self._probe_in_flight = True
        return True

    @property
    def probing(self) -> bool:
        """True while a half-open probe is out (right after ``allow``: it is the caller's)."""
        return self._state is BreakerState.HALF_OPEN and self._probe_in_flight

    def record_success(self) -> None:
        """An attempt got a non-5xx answer."""
        self.failures = 0
        if self._state is not BreakerState.CLOSED:
            self._probe_in_flight = False
            self._set(BreakerState.CLOSED)
            log.info("circuit_closed", upstream=self.upstream)

    def record_failure(self) -> None:
        """An attempt got a 5xx or no answer at all."""
        self.failures += 1
        if self._state is BreakerState.HALF_OPEN:
            self._probe_in_flight = False
            self._open()
        elif self._state is BreakerState.CLOSED and self.failures >= self.threshold:
            self._open()

    def release_probe(self) -> None:
        """The probe ended without a verdict (e.g. the client went away)."""
        self._probe_in_flight = False

    def _open(self) -> None:
        self.opened_at = time.monotonic()
        self._set(BreakerState.OPEN)
        self.metrics.breaker_opened.labels(self.upstream).inc()
        log.warning("circuit_opened", upstream=self.upstream, failures=self.failures)

    def _set(self, state: BreakerState) -> None:
        self._state = state
        self.metrics.breaker_state.labels(self.upstream).set(BREAKER_STATES[state.value])


class RetryBudget:
    """Retries may be at most ``ratio`` of requests (plus a small floor per second).

    Every request deposits ``ratio`` of a token, every retry withdraws one, so under an outage
    retries cannot multiply the load on a struggling service.
    """

    def __init__(
        self,
        ratio: float,
        min_per_second: int,
        cap: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.clock = clock
        self.min_per_second = min_per_second
        self.cap = cap
        self.tokens = 0.0
        self._floor_second = 0
        self._floor_used = 0

    def deposit(self) -> None:
        """Count one request."""
        tokens = self.tokens + self.ratio
        self.tokens = tokens if tokens < self.cap else self.cap

    def withdraw(self) -> bool:
        """Take a retry if the budget allows one."""
        if self.tokens >= 1.0 - 1e-9:  # ten deposits of 0.2 must buy two retries
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        second = int(self.clock())
        if second != self._floor_second:
            self._floor_second = second
            self._floor_used = 0
        if self._floor_used < self.min_per_second:
            self._floor_used += 1
            return True
        return False
