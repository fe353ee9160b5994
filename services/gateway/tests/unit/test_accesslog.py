"""Access lines: the services' JSON shape, written in batches."""

from __future__ import annotations

import io

import orjson

from empora_gateway.accesslog import AccessLog


def _line(log: AccessLog, status: int = 200) -> None:
    log.log(
        request_id="r1",
        method="GET",
        path="/api/products",
        route="product",
        status=status,
        client_ip="127.0.0.1",
        duration_ms=1.25,
    )


class TestAccessLog:
    def test_lines_are_json_with_the_shared_fields(self) -> None:
        stream = io.BytesIO()
        log = AccessLog("gateway", stream=stream)
        _line(log)
        log.flush()
        entry = orjson.loads(stream.getvalue())
        assert entry["service"] == "gateway"
        assert entry["message"] == "request"
        assert entry["level"] == "info"
        assert entry["request_id"] == "r1"
        assert entry["status"] == 200
        assert entry["timestamp"].endswith("Z")

    async def test_lines_wait_for_the_flush(self) -> None:
        stream = io.BytesIO()
        log = AccessLog("gateway", stream=stream, max_buffer=10, flush_interval=60)
        _line(log)
        _line(log)
        assert stream.getvalue() == b""
        log.flush()
        assert stream.getvalue().count(b"\n") == 2

    def test_without_an_event_loop_lines_are_written_at_once(self) -> None:
        stream = io.BytesIO()
        log = AccessLog("gateway", stream=stream, max_buffer=10)
        _line(log)
        assert stream.getvalue().count(b"\n") == 1

    async def test_a_full_buffer_is_written_at_once(self) -> None:
        stream = io.BytesIO()
        log = AccessLog("gateway", stream=stream, max_buffer=2, flush_interval=60)
        _line(log)
        assert stream.getvalue() == b""
        _line(log, status=404)
        lines = stream.getvalue().splitlines()
        assert [orjson.loads(line)["status"] for line in lines] == [200, 404]
        log.flush()
