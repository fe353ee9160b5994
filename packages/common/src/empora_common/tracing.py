"""OpenTelemetry traces: W3C trace context carried over HTTP and AMQP headers.

Off unless configured, with the standard variables: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) turns on the OTLP/HTTP exporter; ``OTEL_TRACES_EXPORTER``
picks ``otlp``, ``console`` or ``none`` explicitly; ``OTEL_SERVICE_NAME`` overrides the service
name (``empora-<service>``); ``OTEL_TRACES_SAMPLER``/``_ARG`` and ``OTEL_SDK_DISABLED`` are read
by the SDK as usual. When off, nothing below runs: every entry point checks :func:`enabled`
first, so a request pays one attribute read.

What makes a trace:
- a SERVER span per HTTP request (the service middleware, the gateway), child of the caller's
  ``traceparent``;
- a CLIENT span per internal call and per proxied request, whose context goes out as
  ``traceparent``;
- an outbox row keeps the ``traceparent`` of the transaction that wrote it; the relay's PRODUCER
  span (its child) travels in the message's headers, and a consumer's CONSUMER span continues it
  (so the events a handler writes continue the same trace).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_PROPAGATOR = TraceContextTextMapPropagator()
# The HTTP headers that carry the trace context.
TRACE_HEADERS = frozenset({TRACEPARENT.encode(), TRACESTATE.encode()})

_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None


def enabled() -> bool:
    """Whether this process records spans."""
    return _tracer is not None


def exporter_from_env(environ: Mapping[str, str] | None = None) -> SpanExporter | None:
    """The exporter the OTEL_* variables ask for, or None when tracing is off."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    name = env.get("OTEL_TRACES_EXPORTER", "otlp" if endpoint else "none").strip().lower()
    if name in ("", "none"):
        return None
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout from the OTEL_* variables
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: use otlp, console or none")


def configure_tracing(
    service: str,
    *,
    exporter: SpanExporter | None = None,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Start recording spans for ``service`` if configured (or given an ``exporter``, which
    tests use). True when this call turned tracing on, so its caller turns it off again
    (``shutdown_tracing``); False when it is off, or was on already (a test's exporter)."""
    global _provider, _tracer
    if _tracer is not None:
        return False
    env = os.environ if environ is None else environ
    exporter = exporter or exporter_from_env(env)
    if exporter is None:
        return False
    name = env.get("OTEL_SERVICE_NAME") or f"empora-{service}"
    _provider = TracerProvider(
        resource=Resource.create({"service.name": name, "service.namespace": "empora"})
    )
    _provider.add_span_processor(BatchSpanProcessor(exporter))
    _tracer = _provider.get_tracer("empora")
    return True


def shutdown_tracing() -> None:
    """Export what is buffered and stop (at process shutdown; tests call it between runs)."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def force_flush() -> None:
    """Export the finished spans now."""
    if _provider is not None:
        _provider.force_flush()


def _tracer_or_fail() -> trace.Tracer:
    if _tracer is None:
        raise RuntimeError("tracing is off: check tracing.enabled() first")
    return _tracer


# --- carriers --------------------------------------------------------------------------------


def _context_from(carrier: Mapping[str, str]) -> otel_context.Context:
    return _PROPAGATOR.extract(carrier)


def context_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> otel_context.Context:
    """The caller's trace context from raw ASGI headers."""
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in headers
        if name in TRACE_HEADERS
    }
    return _context_from(carrier)


def message_trace_headers() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of the current span: AMQP message headers."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def trace_headers() -> list[tuple[bytes, bytes]]:
    """The same as raw HTTP headers."""
    return [(name.encode(), value.encode()) for name, value in message_trace_headers().items()]


def current_traceparent() -> str | None:
    """The current span's ``traceparent`` (what an outbox row keeps), when tracing is on."""
    return message_trace_headers().get(TRACEPARENT) if _tracer is not None else None


# --- spans -----------------------------------------------------------------------------------


class ServerSpan:
    """A SERVER span made current for one request; ``finish`` names and ends it."""

    __slots__ = ("_method", "_span", "_token")

    def __init__(self, headers: Iterable[tuple[bytes, bytes]], method: str, path: str) -> None:
        parent = context_from_headers(headers)
        self._method = method
        self._span = _tracer_or_fail().start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )
        self._token = otel_context.attach(trace.set_span_in_context(self._span, parent))

    def finish(self, status: int, route: str | None, request_id: str | None = None) -> None:
        span = self._span
        if route:
            span.update_name(f"{self._method} {route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if request_id:
            span.set_attribute("empora.request_id", request_id)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        otel_context.detach(self._token)


@contextlib.contextmanager
def client_span(name: str, attributes: Mapping[str, Any]) -> Iterator[Span]:
    """A CLIENT span, current while the block runs (``trace_headers`` then names it)."""
    with _tracer_or_fail().start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes=dict(attributes)
    ) as span:
        yield span


@contextlib.contextmanager
def producer_span(
    event_type: str, traceparent: str | None, attributes: Mapping[str, Any]
) -> Iterator[Span]:
    """The relay's PRODUCER span for one event, child of the transaction that wrote it."""
    parent = _context_from({TRACEPARENT: traceparent}) if traceparent else otel_context.Context()
    with _tracer_or_fail().start_as_current_span(
        f"{event_type} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes=dict(attributes),
    ) as span:
        yield span


@contextlib.contextmanager
def consumer_span(
    queue: str, headers: Mapping[str, Any] | None, attributes: Mapping[str, Any]
) -> Iterator[Span]:
    """A CONSUMER span for one delivery, continuing the producer's trace from the message
    headers; current while the handler runs."""
    carrier = {
        key: value.decode("latin-1") if isinstance(value, bytes) else str(value)
        for key, value in (headers or {}).items()
        if key in (TRACEPARENT, TRACESTATE)
    }
    with _tracer_or_fail().start_as_current_span(
        f"{queue} process",
        context=_context_from(carrier),
        kind=SpanKind.CONSUMER,
        attributes=dict(attributes),
    ) as span:
        yield span
