from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from empora_common import tracing


class TestExporterFromEnv:
    def test_off_when_nothing_is_configured(self) -> None:
        assert tracing.exporter_from_env({}) is None
        assert not tracing.configure_tracing("auth", environ={})
        assert not tracing.enabled()

    @pytest.mark.parametrize(
        "name", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    )
    def test_an_otlp_endpoint_turns_on_the_otlp_exporter(self, name: str) -> None:
        exporter = tracing.exporter_from_env({name: "http://127.0.0.1:4318"})
        assert isinstance(exporter, OTLPSpanExporter)

    def test_the_exporter_can_be_named(self) -> None:
        assert isinstance(
            tracing.exporter_from_env({"OTEL_TRACES_EXPORTER": "console"}), ConsoleSpanExporter
        )
        env = {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}
        assert tracing.exporter_from_env(env) is None

    def test_the_sdk_switch_wins(self) -> None:
        env = {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}
        assert tracing.exporter_from_env(env) is None

    def test_an_unknown_exporter_is_a_configuration_error(self) -> None:
        with pytest.raises(ValueError, match="zipkin"):
            tracing.exporter_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


class TestOwnership:
    def test_only_the_call_that_turned_tracing_on_owns_it(self) -> None:
        try:
            assert tracing.configure_tracing("a", exporter=InMemorySpanExporter()) is True
            assert tracing.configure_tracing("b", exporter=InMemorySpanExporter()) is False
            assert tracing.enabled()
        finally:
            tracing.shutdown_tracing()
        assert not tracing.enabled()


class TestOff:
    def test_nothing_is_recorded_or_propagated(self) -> None:
        assert tracing.current_traceparent() is None
        with pytest.raises(RuntimeError):
            tracing.ServerSpan([], "GET", "/")
