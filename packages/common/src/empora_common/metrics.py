"""Prometheus metrics: request count and latency by route template and status."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response


class ServiceMetrics:
    """One registry per app, so several apps in one test process never collide."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route and status",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.events = Counter(
            "events_total",
            "Events published, consumed or dead-lettered",
            ["service", "direction", "type", "outcome"],
            registry=self.registry,
        )
        self.service = service

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        self.requests.labels(self.service, method, route, str(status)).inc()
        self.latency.labels(self.service, method, route).observe(seconds)

    def event(self, direction: str, event_type: str, outcome: str) -> None:
        """Record one event published or consumed."""
        self.events.labels(self.service, direction, event_type, outcome).inc()

    async def endpoint(self, _request: Request) -> Response:
        """The ``/metrics`` route."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
