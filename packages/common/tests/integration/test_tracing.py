"""Trace context over HTTP: the service middleware's SERVER spans and the internal client's
CLIENT spans, recorded in memory against real servers (AMQP: test_messaging.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from fastapi import FastAPI, Request
from opentelemetry.trace import SpanKind

from empora_common import tracing
from empora_common.http import InternalClient
from empora_common.middleware import RequestContextMiddleware
from empora_common.testing.infra import AppServer
from empora_common.testing.traces import (
    RecordedSpans,
    parent_id,
    recording_spans,
    span_id,
    trace_hex,
)

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@pytest.fixture
def spans() -> Iterator[RecordedSpans]:
    with recording_spans() as recorded:
        yield recorded


def app_with_middleware(app: FastAPI) -> FastAPI:
    app.add_middleware(RequestContextMiddleware)
    return app


@pytest.fixture
async def downstream() -> AsyncIterator[AppServer]:
    app = FastAPI()

    @app.get("/internal/echo/{thing}")
    async def echo(thing: str, request: Request) -> dict[str, Any]:
        return {"traceparent": request.headers.get("traceparent"), "thing": thing}

    server = await AppServer(app_with_middleware(app)).start()
    yield server
    await server.stop()


@pytest.fixture
async def upstream(downstream: AppServer) -> AsyncIterator[AppServer]:
    app = FastAPI()
    client = InternalClient("token")

    @app.get("/api/things/{thing}")
    async def things(thing: str) -> dict[str, Any]:
        reply = await client.request("GET", f"{downstream.url}/internal/echo/{thing}")
        return {"downstream": reply.body}

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    server = await AppServer(app_with_middleware(app)).start()
    yield server
    await client.close()
    await server.stop()


class TestHttp:
    async def test_a_request_continues_the_callers_trace_through_an_internal_call(
        self, spans: RecordedSpans, upstream: AppServer
    ) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{upstream.url}/api/things/42", headers={"traceparent": CALLER_TRACEPARENT}
            ) as resp,
        ):
            body = await resp.json()
        assert resp.status == 200

        recorded = spans.finished()
        by_kind = {s.kind: [x for x in recorded if x.kind == s.kind] for s in recorded}
        servers, clients = by_kind[SpanKind.SERVER], by_kind[SpanKind.CLIENT]
        assert len(servers) == 2 and len(clients) == 1
        outer = next(s for s in servers if s.name == "GET /api/things/{thing}")
        inner = next(s for s in servers if s.name == "GET /internal/echo/{thing}")
        (call,) = clients
        # One trace, the caller's; each span the child of the one before.
        assert {trace_hex(s) for s in recorded} == {CALLER_TRACE}
        assert parent_id(outer) == int(CALLER_SPAN, 16)
        assert parent_id(call) == span_id(outer)
        assert parent_id(inner) == span_id(call)
        # What went over the wire is the client span's context.
        assert body["downstream"]["traceparent"] == (f"00-{CALLER_TRACE}-{span_id(call):016x}-01")
        assert outer.attributes is not None and inner.attributes is not None
        assert outer.attributes["http.response.status_code"] == 200
        assert outer.attributes["http.route"] == "/api/things/{thing}"
        assert call.attributes is not None
        assert call.attributes["http.response.status_code"] == 200

    async def test_without_a_caller_a_request_starts_a_trace_and_a_500_is_an_error(
        self, spans: RecordedSpans, upstream: AppServer
    ) -> None:
        async with aiohttp.ClientSession() as http, http.get(f"{upstream.url}/api/boom") as resp:
            assert resp.status == 500
        (span,) = spans.finished()
        assert span.parent is None
        assert span.status.is_ok is False

    async def test_probes_are_not_traced(self, spans: RecordedSpans, downstream: AppServer) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{downstream.url}/health/live"):
                pass
            async with http.get(f"{downstream.url}/internal/echo/x"):
                pass
        assert [s.name for s in spans.finished()] == ["GET /internal/echo/{thing}"]

    async def test_tracing_off_sends_no_trace_headers(self, upstream: AppServer) -> None:
        assert not tracing.enabled()
        async with aiohttp.ClientSession() as http, http.get(f"{upstream.url}/api/things/1") as r:
            body = await r.json()
        assert body["downstream"]["traceparent"] is None
