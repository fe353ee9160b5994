"""The gateway's access log: one JSON line per request, written in batches.

The shared structlog pipeline renders with the standard ``json`` module and flushes stdout for
every line: fine for a service's few log lines per request, but at the edge that write per
request costs more CPU than the routing itself. These lines have the same shape as the
services' (``service``, ``message``, ``level``, ``timestamp``, ``request_id``, ...), are
rendered with orjson, and are written at most every ``flush_interval`` seconds (or when the
buffer fills), so a crash loses at most that much of the access log, never an error line.
"""

from __future__ import annotations

import asyncio
import io
import sys
from datetime import UTC, datetime
from typing import IO, Any, cast

import orjson


class AccessLog:
    """Buffers access lines and writes them to stdout in batches."""

    def __init__(
        self,
        service: str,
        *,
        stream: IO[Any] | None = None,
        flush_interval: float = 0.5,
        max_buffer: int = 256,
    ) -> None:
        self.service = service
        self.stream = stream
        self.flush_interval = flush_interval
        self.max_buffer = max_buffer
        self._lines: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def log(
        self,
        *,
        request_id: str,
        method: str,
        path: str,
        route: str,
        status: int,
        client_ip: str,
        duration_ms: float,
    ) -> None:
        """Queue one line."""
        self._lines.append(
            orjson.dumps(
                {
                    "service": self.service,
                    "message": "request",
                    "level": "info",
                    "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "client_ip": client_ip,
                    "duration_ms": duration_ms,
                },
                option=orjson.OPT_APPEND_NEWLINE,
            )
        )
        if len(self._lines) >= self.max_buffer:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(self.flush_interval, self.flush)

    def flush(self) -> None:
        """Write what is buffered."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        stream: IO[Any] = self.stream or sys.stdout
        try:
            if not isinstance(stream, io.TextIOBase):
                cast(IO[bytes], stream).write(data)
            elif (binary := getattr(stream, "buffer", None)) is not None:
                stream.flush()  # anything written through the text layer goes first
                binary.write(data)
            else:
                stream.write(data.decode())
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stdout must not break requests
            pass
