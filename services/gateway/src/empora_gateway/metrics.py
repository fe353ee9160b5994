"""Gateway metrics: the shared request metrics plus upstream, breaker and limiter series."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from empora_common.metrics import ServiceMetrics

BREAKER_STATES = {"closed": 0, "open": 1, "half_open": 2}


class GatewayMetrics(ServiceMetrics):
    """One registry for the gateway; label children cached so the hot path stays cheap."""

    def __init__(self) -> None:
        super().__init__("gateway")
        self.upstream_latency = Histogram(
            "gateway_upstream_duration_seconds",
            "Time until an upstream answered (headers), per attempt",
            ["upstream"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30),
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors_total",
            "Upstream attempts that failed without a response",
            ["upstream", "kind"],
            registry=self.registry,
        )
        self.retries = Counter(
            "gateway_upstream_retries_total",
            "Retried upstream attempts",
            ["upstream"],
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "gateway_circuit_state",
            "Circuit breaker state per upstream (0 closed, 1 open, 2 half-open)",
            ["upstream"],
            registry=self.registry,
        )
        self.breaker_opened = Counter(
            "gateway_circuit_opened_total",
            "Times an upstream's circuit opened",
            ["upstream"],
            registry=self.registry,
        )
        self.breaker_rejected = Counter(
            "gateway_circuit_rejected_total",
            "Requests answered 503 because the upstream's circuit was open",
            ["upstream"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "gateway_rate_limited_total",
            "Requests refused with 429",
            ["bucket"],
            registry=self.registry,
        )
        self.rate_limit_fail_open = Counter(
            "gateway_rate_limit_fail_open_total",
            "Requests let through without a rate-limit decision because Redis failed",
            registry=self.registry,
        )
        self.rate_limit_errors = Counter(
            "gateway_rate_limit_redis_errors_total",
            "Redis errors seen by the rate limiter",
            registry=self.registry,
        )
        self.tokens_rejected = Counter(
            "gateway_tokens_rejected_total",
            "Requests refused with 401 at the gateway",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._upstream_children: dict[str, Any] = {}

    def observe_upstream(self, upstream: str, seconds: float) -> None:
        """Record how long an upstream took to answer (child cached per upstream)."""
        child = self._upstream_children.get(upstream)
        if child is None:
            child = self._upstream_children[upstream] = self.upstream_latency.labels(upstream)
        child.observe(seconds)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request (children cached per method/route/status)."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            if len(self._children) > 10_000:
                self._children.clear()
            children = (
                self.requests.labels(self.service, method, route, str(status)),
                self.latency.labels(self.service, method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
