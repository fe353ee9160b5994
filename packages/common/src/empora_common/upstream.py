"""HTTP/1.1 client for calls between Empora's processes: keep-alive pools on asyncio protocols
and httptools. The gateway proxies with it and the services' InternalClient calls with it.

aiohttp's client spent about half of the gateway's CPU per proxied request (its request and
response objects, timers, stream readers and header multidicts). A proxy needs much
less: one request at a time per connection, a request body that is either bytes or a stream
of known length (the gateway buffers chunked request bodies before they get here), and a
response whose raw headers and body chunks are passed on as they come. That is what this is:

- ``UpstreamPool`` keeps idle keep-alive connections to one upstream (newest first), opens new
  ones up to ``limit`` and lets requests wait for a free one; an idle connection is dropped
  after ``keepalive`` seconds, below the services' own keep-alive so a socket they closed is
  never reused;
- ``UpstreamConnection`` is the protocol of one connection and, while a request runs on it, the
  response: ``status``, ``headers`` (lower-cased names, raw values), ``read()`` for the body in
  chunks, ``release()`` to give the connection back (or close it if the answer was not read to
  its end). Body bytes beyond 256 KiB not yet read pause the socket (back-pressure).

Every failure is an ``UpstreamError`` whose ``kind`` tells the proxy what may be retried:
``connect`` (nothing reached the upstream), ``timeout`` (the deadline passed; the upstream may
still be working) and ``disconnect`` (the connection broke or the answer was not HTTP).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable
from typing import cast
from urllib.parse import urlsplit

import httptools

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
# Bodies up to this size go out in the same write as the request head.
COALESCE_LIMIT = 64 * 1024


class UpstreamError(Exception):
    """A request that got no complete answer."""

    kind = "disconnect"


class UpstreamConnectError(UpstreamError):
    """The connection could not be made: nothing reached the upstream."""

    kind = "connect"


class UpstreamTimeout(UpstreamError):
    """The request's deadline passed; the upstream may still be working on it."""

    kind = "timeout"


class UpstreamDisconnected(UpstreamError):
    """The connection closed, or the upstream answered something that is not HTTP/1.1."""

    kind = "disconnect"


def _no_line_breaks(value: bytes) -> bytes:
    if b"\r" in value or b"\n" in value:
        raise ValueError("a header contains a line break")
    return value


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection; while a request runs on it, also that request's response."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reset(head=False)

    def _reset(self, *, head: bool) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self.headers_done = False
        self.complete = False
        self.error: UpstreamError | None = None
        self.in_flight = False
        self.got_bytes = False
        self._head = head
        self._informational = False
        self._until_close = False
        self._keep_alive = False
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None

    # --- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without inheriting from it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self.in_flight or self.complete:
            # Bytes nobody asked for: this connection can no longer be trusted.
            self.close()
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamDisconnected("the upstream switched protocols"))
            self.close()
        except httptools.HttpParserError as exc:
            self._fail(UpstreamDisconnected(f"the upstream's answer is not valid HTTP: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost settles the response

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.in_flight and not self.complete:
            if self.headers_done and self._until_close:
                self.complete = True  # a body delimited by the end of the connection
                self._wake()
            else:
                self._fail(UpstreamDisconnected("the upstream closed the connection"))
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)
        self.pool._lost(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    # --- httptools callbacks -----------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status: int = self.parser.get_status_code()
        if 100 <= status < 200:
            # 100 Continue and other interim answers: the real one follows.
            self._informational = True
            self.headers = []
            return
        self.status = status
        self.headers_done = True
        self._keep_alive = self.parser.should_keep_alive()
        if self._head:
            # A HEAD answer has no body whatever its Content-Length says; the parser cannot
            # know that, so this connection is not reused.
            self.complete = True
            self._keep_alive = False
        elif status not in (204, 304):
            self._until_close = not any(
                name in (b"content-length", b"transfer-encoding") for name, _ in self.headers
            )
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._informational or self.complete:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._reading_paused and self.transport:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self._wake()

    # --- waiting -----------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self.error is None and not self.complete:
            self.error = error
        self._wake()

    async def _wait(self) -> None:
        waiter = self.loop.create_future()
        self._waiter = waiter
        await waiter

    def _on_deadline(self) -> None:
        self._timer = None
        self._fail(UpstreamTimeout("the upstream did not answer in time"))
        self.close()

    # --- one request -------------------------------------------------------------------

    def begin(self, head: bytes, body: bytes | None, deadline: float, *, is_head: bool) -> None:
        """Send the head (and a body given as bytes) and arm the deadline."""
        self._reset(head=is_head)
        self.in_flight = True
        self._timer = self.loop.call_at(deadline, self._on_deadline)
        transport = self.transport
        assert transport is not None
        if body and len(body) > COALESCE_LIMIT:
            transport.writelines((head, body))
        elif body:
            transport.write(head + body)
        else:
            transport.write(head)

    async def send_stream(self, body: AsyncIterable[bytes]) -> None:
        """Stream a body of known length, honouring the socket's back-pressure."""
        transport = self.transport
        assert transport is not None
        try:
            async for chunk in body:
                if self.closed or self.headers_done:
                    return  # the upstream answered early or hung up: stop sending
                transport.write(chunk)
                if self._write_paused:
                    self._drain = self.loop.create_future()
                    await self._drain
                    self._drain = None
        except Exception as exc:
            # The client's side failed (gone, too slow): the request cannot be completed.
            raise UpstreamDisconnected("the request body could not be read") from exc

    async def wait_headers(self) -> None:
        """Until the status line and headers of the answer are in."""
        while not self.headers_done:
            if self.error is not None:
                raise self.error
            if self.closed:
                raise UpstreamDisconnected("the upstream closed the connection")
            await self._wait()

    @property
    def at_eof(self) -> bool:
        """The whole body has been read."""
        return self.complete and not self._chunks

    async def read(self) -> bytes:
        """The body bytes that arrived since the last call (waits for some); b"" at the end."""
        while True:
            chunks = self._chunks
            if chunks:
                data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self._buffered = 0
                if self._reading_paused and self.transport is not None:
                    self._reading_paused = False
                    self.transport.resume_reading()
                return data
            if self.complete:
                return b""
            if self.error is not None:
                raise self.error
            if self.closed:
                raise UpstreamDisconnected("the upstream closed the connection")
            await self._wait()

    async def read_all(self) -> bytes:
        """The rest of the body."""
        parts: list[bytes] = []
        while chunk := await self.read():
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def release(self) -> None:
        """Done with the answer: keep the connection if it ended cleanly, else close it."""
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
        if self.complete and self._keep_alive and not self.closed and self.error is None:
            self.in_flight = False
            self._chunks.clear()
            if self._reading_paused and self.transport is not None:
                self._reading_paused = False
                self.transport.resume_reading()
            self.pool._put_back(self)
        else:
            self.close()

    def close(self) -> None:
        """Close the socket (the pool forgets it in ``connection_lost``)."""
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


class UpstreamPool:
    """Keep-alive connections to one ``http://host:port`` upstream."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        limit: int,
        keepalive: float,
        connect_timeout: float,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.limit = limit
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.loop = loop or asyncio.get_running_loop()
        authority = host if port == 80 else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            authority = f"[{host}]" if port == 80 else f"[{host}]:{port}"
        self._host_line = b"Host: " + authority.encode("ascii") + b"\r\n"
        self._idle: list[UpstreamConnection] = []
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.size = 0  # open connections, idle or busy
        self._closing = False

    @classmethod
    def for_url(
        cls,
        url: str,
        *,
        limit: int,
        keepalive: float,
        connect_timeout: float,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> UpstreamPool:
        """The pool for the origin of a plain ``http://`` URL (its path is the caller's)."""
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(f"upstreams are plain http:// URLs, not {url!r}")
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            limit=limit,
            keepalive=keepalive,
            connect_timeout=connect_timeout,
            loop=loop,
        )

    @property
    def idle(self) -> int:
        """How many connections wait for a request."""
        return len(self._idle)

    async def request(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterable[bytes] | None,
        deadline: float,
    ) -> UpstreamConnection:
        """Send a request and wait for its answer's head; the caller reads and releases it.

        ``target`` is the path with its query; ``headers`` must not carry Host, and carry
        Content-Length when ``body`` is a stream. A bytes body gets its Content-Length here.
        """
        head = self._head(method, target, headers, body)
        conn = await self._acquire(deadline)
        try:
            if isinstance(body, bytes | None):
                conn.begin(head, body, deadline, is_head=method == "HEAD")
            else:
                conn.begin(head, None, deadline, is_head=method == "HEAD")
                await conn.send_stream(body)
            await conn.wait_headers()
        except BaseException:
            conn.close()
            raise
        return conn

    async def fetch(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        deadline: float,
    ) -> tuple[int, bytes]:
        """A whole (small) answer: its status and body; the connection goes back at once."""
        resp = await self.request(method, target, headers, body, deadline)
        try:
            return resp.status, await resp.read_all()
        finally:
            resp.release()

    def _head(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterable[bytes] | None,
    ) -> bytes:
        lines = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n", self._host_line]
        for name, value in headers:
            lines += (name, b": ", _no_line_breaks(value), b"\r\n")
        if isinstance(body, bytes):
            if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
                lines += (b"Content-Length: ", str(len(body)).encode(), b"\r\n")
        elif body is None and method in ("POST", "PUT", "PATCH"):
            lines.append(b"Content-Length: 0\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)

    async def _acquire(self, deadline: float) -> UpstreamConnection:
        loop = self.loop
        while True:
            now = loop.time()
            idle = self._idle
            while idle:
                conn = idle.pop()
                transport = conn.transport
                if (
                    conn.closed
                    or transport is None
                    or transport.is_closing()
                    or now - conn.idle_since > self.keepalive
                ):
                    conn.close()
                    continue
                conn.reused = True
                return conn
            if self.size < self.limit:
                return await self._connect(deadline)
            # Every connection is busy: wait for one to come back or to close.
            remaining = deadline - now
            if remaining <= 0:
                raise UpstreamTimeout("no upstream connection became free in time")
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                raise UpstreamTimeout("no upstream connection became free in time") from None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    async def _connect(self, deadline: float) -> UpstreamConnection:
        self.size += 1
        budget = min(self.connect_timeout, deadline - self.loop.time())
        try:
            if budget <= 0:
                raise TimeoutError
            async with asyncio.timeout(budget):
                _, protocol = await self.loop.create_connection(
                    lambda: UpstreamConnection(self), self.host, self.port
                )
        except BaseException as exc:
            self.size -= 1
            self._notify()
            if isinstance(exc, OSError | TimeoutError):
                raise UpstreamConnectError(
                    f"cannot connect to {self.host}:{self.port}: {type(exc).__name__}"
                ) from exc
            raise
        return protocol

    def _notify(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _put_back(self, conn: UpstreamConnection) -> None:
        if self._closing:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        self._idle.append(conn)
        self._notify()

    def _lost(self, conn: UpstreamConnection) -> None:
        self.size -= 1
        if conn in self._idle:
            self._idle.remove(conn)
        self._notify()

    async def close(self) -> None:
        """Close the idle connections; busy ones close when released."""
        self._closing = True
        for conn in list(self._idle):
            conn.close()
        self._idle.clear()
        await asyncio.sleep(0)
