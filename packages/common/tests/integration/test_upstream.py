"""The upstream HTTP/1.1 client against scripted servers on real sockets.

Each test's server is a plain asyncio server that answers exactly the bytes the test wants
(keep-alive, chunked, close-delimited, interim 100, HEAD, garbage, silence), so every branch of
the client meets the wire format it is written for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from empora_common.upstream import (
    UpstreamConnectError,
    UpstreamDisconnected,
    UpstreamPool,
    UpstreamTimeout,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Scripted:
    """An asyncio server on 127.0.0.1 running ``handler`` per connection; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await self.handler(reader, writer)
        writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        """One request head (and its Content-Length body), recorded."""
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        self.requests.append(head + body)
        return head + body

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


@contextlib.asynccontextmanager
async def scripted(handler: Callable[[Scripted], Handler]) -> AsyncIterator[Scripted]:
    box = Scripted(lambda r, w: asyncio.sleep(0))
    box.handler = handler(box)
    box.server = await asyncio.start_server(box._serve, "127.0.0.1", 0)
    try:
        yield box
    finally:
        box.server.close()


def pool_for(box: Scripted, **kwargs: float) -> UpstreamPool:
    options = {"limit": 8, "keepalive": 4.0, "connect_timeout": 1.0, **kwargs}
    return UpstreamPool(
        "127.0.0.1",
        box.port,
        limit=int(options["limit"]),
        keepalive=options["keepalive"],
        connect_timeout=options["connect_timeout"],
    )


def deadline(seconds: float = 5.0) -> float:
    return asyncio.get_running_loop().time() + seconds


def keep_alive_json(box: Scripted) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await box.read_request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'X-Twice: a\r\nX-Twice: b\r\nContent-Length: 11\r\n\r\n{"ok":true}'
            )
            await writer.drain()

    return handle


class TestKeepAlive:
    async def test_sequential_requests_share_one_connection(self) -> None:
        async with scripted(keep_alive_json) as box:
            pool = pool_for(box)
            for _ in range(3):
                resp = await pool.request("GET", b"/a?b=1", [], None, deadline())
                assert resp.status == 200
                assert await resp.read_all() == b'{"ok":true}'
                assert resp.at_eof
                resp.release()
            assert box.connections == 1
            assert pool.idle == 1
            await pool.close()

    async def test_headers_keep_their_order_repeats_and_raw_values(self) -> None:
        async with scripted(keep_alive_json) as box:
            pool = pool_for(box)
            resp = await pool.request(
                "GET", b"/x", [(b"x-note", b"caf\xc3\xa9"), (b"accept", b"*/*")], None, deadline()
            )
            assert [v for n, v in resp.headers if n == b"x-twice"] == [b"a", b"b"]
            resp.release()
            head = box.requests[0]
            assert head.startswith(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:")
            assert b"\r\nx-note: caf\xc3\xa9\r\naccept: */*\r\n" in head
            await pool.close()

    async def test_an_unread_answer_closes_its_connection(self) -> None:
        async with scripted(keep_alive_json) as box:
            pool = pool_for(box)
            resp = await pool.request("GET", b"/", [], None, deadline())
            # Released before the body was read: complete already (it came in one segment)
            # or not, the connection is reused only when the answer ended cleanly.
            resp.release()
            resp = await pool.request("GET", b"/", [], None, deadline())
            assert await resp.read_all() == b'{"ok":true}'
            resp.release()
            assert box.connections in (1, 2)
            await pool.close()

    async def test_an_idle_connection_past_keepalive_is_not_reused(self) -> None:
        async with scripted(keep_alive_json) as box:
            pool = pool_for(box, keepalive=0.05)
            resp = await pool.request("GET", b"/", [], None, deadline())
            await resp.read_all()
            resp.release()
            await asyncio.sleep(0.1)
            resp = await pool.request("GET", b"/", [], None, deadline())
            await resp.read_all()
            resp.release()
            assert box.connections == 2
            await pool.close()

    async def test_a_connection_the_upstream_closed_while_idle_is_not_reused(self) -> None:
        def once(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
                # then hang up while the client keeps the connection idle

            return handle

        async with scripted(once) as box:
            pool = pool_for(box)
            for _ in range(2):
                resp = await pool.request("GET", b"/", [], None, deadline())
                assert resp.status == 204
                assert await resp.read_all() == b""
                resp.release()
                await asyncio.sleep(0.05)  # the close reaches the client
            assert box.connections == 2
            await pool.close()


class TestBodies:
    async def test_chunked_answer(self) -> None:
        def chunked(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                await writer.drain()
                await asyncio.sleep(0.02)
                writer.write(b"6\r\n world\r\n0\r\n\r\n")
                await writer.drain()
                await box.read_request(reader)

            return handle

        async with scripted(chunked) as box:
            pool = pool_for(box)
            resp = await pool.request("GET", b"/", [], None, deadline())
            assert await resp.read_all() == b"hello world"
            resp.release()
            assert pool.idle == 1  # a chunked answer ends cleanly: kept
            await pool.close()

    async def test_an_answer_delimited_by_the_end_of_the_connection(self) -> None:
        def until_close(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ")
                await writer.drain()
                await asyncio.sleep(0.02)
                writer.write(b"part two")
                await writer.drain()

            return handle

        async with scripted(until_close) as box:
            pool = pool_for(box)
            resp = await pool.request("GET", b"/", [], None, deadline())
            assert await resp.read_all() == b"part one, part two"
            resp.release()
            assert pool.idle == 0
            await pool.close()

    async def test_a_large_answer_arrives_whole_through_back_pressure(self) -> None:
        size = 3 * 1024 * 1024
        payload = bytes(range(256)) * (size // 256)

        def large(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                writer.write(payload)
                await writer.drain()

            return handle

        async with scripted(large) as box:
            pool = pool_for(box)
            resp = await pool.request("GET", b"/", [], None, deadline())
            await asyncio.sleep(0.2)  # let the socket fill up: reading must have paused
            assert await resp.read_all() == payload
            resp.release()
            await pool.close()

    async def test_request_bodies_bytes_and_streamed(self) -> None:
        def echo(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                while True:
                    request = await box.read_request(reader)
                    body = request.split(b"\r\n\r\n", 1)[1]
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                    writer.write(body)
                    await writer.drain()

            return handle

        async def stream() -> AsyncIterator[bytes]:
            for part in (b"abc", b"", b"defg"):
                await asyncio.sleep(0)
                yield part

        async with scripted(echo) as box:
            pool = pool_for(box)
            resp = await pool.request("POST", b"/", [], b'{"a":1}', deadline())
            assert await resp.read_all() == b'{"a":1}'
            resp.release()
            resp = await pool.request(
                "POST", b"/", [(b"content-length", b"7")], stream(), deadline()
            )
            assert await resp.read_all() == b"abcdefg"
            resp.release()
            resp = await pool.request("POST", b"/", [], None, deadline())
            assert await resp.read_all() == b""
            resp.release()
            assert b"Content-Length: 7\r\n" in box.requests[0]
            assert b"Content-Length: 0\r\n" in box.requests[2]
            assert box.connections == 1
            await pool.close()

    async def test_an_interim_100_is_skipped(self) -> None:
        def interim(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()

            return handle

        async with scripted(interim) as box:
            pool = pool_for(box)
            resp = await pool.request("POST", b"/", [], b"x", deadline())
            assert resp.status == 201
            assert await resp.read_all() == b"ok"
            resp.release()
            await pool.close()

    async def test_a_head_answer_has_no_body_and_its_connection_is_not_reused(self) -> None:
        def head(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
                await writer.drain()
                await asyncio.sleep(1)

            return handle

        async with scripted(head) as box:
            pool = pool_for(box)
            resp = await pool.request("HEAD", b"/", [], None, deadline())
            assert resp.status == 200
            assert (b"content-length", b"1234") in resp.headers
            assert await resp.read_all() == b""
            resp.release()
            assert pool.idle == 0
            await pool.close()


class TestFailures:
    async def test_nothing_listening_is_a_connect_error(self) -> None:
        async with scripted(keep_alive_json) as box:
            port = box.port
        pool = UpstreamPool("127.0.0.1", port, limit=2, keepalive=4, connect_timeout=1)
        with pytest.raises(UpstreamConnectError) as caught:
            await pool.request("POST", b"/", [], b"x", deadline())
        assert caught.value.kind == "connect"
        assert pool.size == 0

    async def test_silence_past_the_deadline_is_a_timeout_and_the_socket_is_closed(self) -> None:
        def silent(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                await reader.read()  # until the client hangs up

            return handle

        async with scripted(silent) as box:
            pool = pool_for(box)
            with pytest.raises(UpstreamTimeout) as caught:
                await pool.request("GET", b"/", [], None, deadline(0.2))
            assert caught.value.kind == "timeout"
            await asyncio.sleep(0.05)
            assert pool.size == 0 and pool.idle == 0

    async def test_a_body_cut_short_is_a_disconnect(self) -> None:
        def short(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
                await writer.drain()

            return handle

        async with scripted(short) as box:
            pool = pool_for(box)
            resp = await pool.request("GET", b"/", [], None, deadline())
            assert await resp.read() == b"only this"
            with pytest.raises(UpstreamDisconnected):
                await resp.read()
            resp.release()
            await pool.close()

    @pytest.mark.parametrize(
        "answer", [b"", b"SMTP ready\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"]
    )
    async def test_hanging_up_or_answering_garbage_is_a_disconnect(self, answer: bytes) -> None:
        def bad(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await box.read_request(reader)
                writer.write(answer)
                await writer.drain()

            return handle

        async with scripted(bad) as box:
            pool = pool_for(box)
            with pytest.raises(UpstreamDisconnected) as caught:
                await pool.request("GET", b"/", [], None, deadline())
            assert caught.value.kind == "disconnect"
            await pool.close()

    async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(self) -> None:
        async with scripted(keep_alive_json) as box:
            pool = pool_for(box)
            with pytest.raises(ValueError, match="line break"):
                await pool.request("GET", b"/", [(b"x-a", b"1\r\nx-b: 2")], None, deadline())
            assert box.connections == 0
            await pool.close()


class TestLimit:
    async def test_requests_beyond_the_limit_wait_for_a_free_connection(self) -> None:
        def slow(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                while True:
                    await box.read_request(reader)
                    await asyncio.sleep(0.05)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()

            return handle

        async with scripted(slow) as box:
            pool = pool_for(box, limit=1)

            async def one() -> bytes:
                resp = await pool.request("GET", b"/", [], None, deadline())
                try:
                    return await resp.read_all()
                finally:
                    resp.release()

            assert await asyncio.gather(one(), one(), one()) == [b"ok"] * 3
            assert box.connections == 1
            await pool.close()

    async def test_waiting_for_a_connection_ends_at_the_deadline(self) -> None:
        def silent(box: Scripted) -> Handler:
            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await reader.read()

            return handle

        async with scripted(silent) as box:
            pool = pool_for(box, limit=1)
            first = asyncio.create_task(pool.request("GET", b"/", [], None, deadline(1)))
            await asyncio.sleep(0.05)
            with pytest.raises(UpstreamTimeout):
                await pool.request("GET", b"/", [], None, deadline(0.1))
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            await asyncio.sleep(0.05)
            assert pool.size == 0
            await pool.close()
