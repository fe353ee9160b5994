"""The coalescing HTTP protocol: uvicorn's httptools protocol with one write per response."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Receive, Scope, Send

from empora_common.server import CoalescingTransport, HttpProtocol
from empora_common.testing.infra import AppServer


class Recorder:
    """The real-transport side of a CoalescingTransport: what reached it, in order."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


class TestCoalescingTransport:
    async def test_writes_of_one_iteration_leave_in_one_write(self) -> None:
        real = Recorder()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(memoryview(b"body"))
        assert real.writes == []
        assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        transport.write(b"next")
        await asyncio.sleep(0)
        assert real.writes[-1] == b"next"

    async def test_close_sends_what_is_buffered_first(self) -> None:
        real = Recorder()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"last words")
        transport.close()
        assert real.writes == [b"last words"] and real.closed
        transport.write(b"after close")
        await asyncio.sleep(0)
        assert real.writes == [b"last words"]  # nothing goes to a closed transport

    async def test_other_calls_reach_the_real_transport(self) -> None:
        real = Recorder()
        transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
        assert transport.is_closing() is False


async def streaming_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    close = scope["path"] == "/close"
    headers = [(b"content-type", b"text/plain")]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for part in (b"one ", b"two ", b"three"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
        await asyncio.sleep(0.01)  # separate loop iterations: separate writes
    await send({"type": "http.response.body", "body": b"", "more_body": False})


class TestServedResponses:
    async def test_streamed_and_keep_alive_and_closing_answers_arrive_whole(self) -> None:
        server = await AppServer(streaming_app).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            for path in (b"/a", b"/b", b"/close"):
                writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 200 OK")
                assert b"transfer-encoding: chunked" in head
                body = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 5)
                assert b"one " in body and b"two " in body and b"three" in body
            # After the Connection: close answer the server hangs up, everything delivered.
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
        finally:
            await server.stop()


class QuickHead(HttpProtocol):
    header_timeout = 0.3


async def hello_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await streaming_app(scope, receive, send)
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]}
    )
    await send({"type": "http.response.body", "body": b"hello"})


class TestRequestHeadTimeout:
    async def test_a_head_sent_too_slowly_gets_408_and_the_connection_closes(self) -> None:
        server = await AppServer(hello_app, http=QuickHead).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # ... and never the blank line
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
        finally:
            await server.stop()
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert b"connection: close" in answer
        assert answer.endswith(b'"detail":"The request head was not received in time"}')

    async def test_a_connection_that_sends_nothing_is_closed(self) -> None:
        server = await AppServer(hello_app, http=QuickHead).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
        finally:
            await server.stop()
        assert answer.startswith(b"HTTP/1.1 408")

    async def test_a_pause_between_kept_alive_requests_is_not_a_slow_head(self) -> None:
        server = await AppServer(hello_app, http=QuickHead).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            for _ in range(2):
                writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 200")
                assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
                await asyncio.sleep(0.6)  # twice the head timeout, well within keep-alive
            writer.close()
        finally:
            await server.stop()
