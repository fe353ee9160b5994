"""The HTTP server protocol of every Empora process: uvicorn's httptools protocol, with one
send per response.

uvicorn writes a response's head and its body with two ``transport.write`` calls, and uvloop
sends each at once: two syscalls and two TCP segments for every small JSON answer, and a
client that wakes up twice. Here the writes made while the event loop runs one callback are
gathered and sent at the end of that iteration, so head and body leave together. Measured
through the gateway at concurrency 1 (bench/gateway.py): the added p50 fell by about a third.

It also bounds the time a client may take to send a request's head (see ``HttpProtocol``).

Use it with ``uvicorn --http empora_common.server:HttpProtocol`` (``uvicorn.Config(http=...)``).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# The import string for ``uvicorn --http``.
HTTP_PROTOCOL = "empora_common.server:HttpProtocol"


class CoalescingTransport:
    """A transport whose writes of one loop iteration go out in one ``write``."""

    __slots__ = ("_buffer", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buffer: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._buffer:
            self._loop.call_soon(self.flush)
        self._buffer.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Hand what was written to the real transport (if it is still open)."""
        buffer = self._buffer
        if not buffer:
            return
        data = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        buffer.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._buffer))

    def __getattr__(self, name: str) -> Any:
        # Everything else (pause/resume_reading, get_extra_info, is_closing, abort, ...).
        return getattr(self._transport, name)


_HEAD_TIMEOUT_BODY = (
    b'{"type":"https://empora.dev/problems/request-timeout","title":"Request timeout",'
    b'"status":408,"detail":"The request head was not received in time"}'
)
_HEAD_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(_HEAD_TIMEOUT_BODY)
) + _HEAD_TIMEOUT_BODY


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a ``CoalescingTransport``, with a limit on
    how long a client may take to send a request's head.

    uvicorn has no such limit: a client that opens a connection and sends nothing, or dribbles
    its headers a byte at a time (slowloris), holds the connection for as long as it likes.
    Here the head of each request (from the connection's start, or from the first byte of a
    later request on a kept-alive connection) must be complete within ``header_timeout``
    seconds, or the client gets 408 and the connection is closed. Idle time between requests
    stays uvicorn's keep-alive timeout's business. ``HTTP_HEADER_TIMEOUT`` sets the default.
    """

    header_timeout: float = float(os.environ.get("HTTP_HEADER_TIMEOUT", "10"))
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[arg-type]
        self._arm_head_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(_HEAD_TIMEOUT_RESPONSE)
            self.transport.close()
