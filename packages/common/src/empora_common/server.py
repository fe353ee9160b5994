"""The HTTP server protocol of every Empora process: uvicorn's httptools protocol, with one
send per response.

uvicorn writes a response's head and its body with two ``transport.write`` calls, and uvloop
sends each at once: two syscalls and two TCP segments for every small JSON answer, and a
client that wakes up twice. Here the writes made while the event loop runs one callback are
gathered and sent at the end of that iteration, so head and body leave together. Measured
through the gateway at concurrency 1 (bench/gateway.py): the added p50 fell by about a third.

Use it with ``uvicorn --http empora_common.server:HttpProtocol`` (``uvicorn.Config(http=...)``).
"""

from __future__ import annotations

import asyncio
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


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[arg-type]
