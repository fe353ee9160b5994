"""Recording spans in a test: the SDK's in-memory exporter behind ``empora_common.tracing``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from empora_common import tracing


class RecordedSpans:
    """The spans this process finished while recording."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def finished(self) -> list[ReadableSpan]:
        tracing.force_flush()
        return list(self.exporter.get_finished_spans())


@contextlib.contextmanager
def recording_spans() -> Iterator[RecordedSpans]:
    """Tracing on for the block, into memory; off again afterwards."""
    exporter = InMemorySpanExporter()
    if not tracing.configure_tracing("test", exporter=exporter):
        raise RuntimeError("tracing is on already in this process")
    try:
        yield RecordedSpans(exporter)
    finally:
        tracing.shutdown_tracing()


def trace_hex(span: ReadableSpan) -> str:
    """The span's trace id as in a ``traceparent``."""
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def parent_id(span: ReadableSpan) -> int | None:
    return int(span.parent.span_id) if span.parent is not None else None
