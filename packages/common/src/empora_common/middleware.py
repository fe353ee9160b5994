"""Pure ASGI middleware: request id, access log, metrics and body size limit."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from empora_common import tracing
from empora_common.errors import problem_body
from empora_common.logging import reset_request_id, set_request_id
from empora_common.metrics import ServiceMetrics

access_log = structlog.get_logger("empora.access")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def pick_request_id(raw: bytes | None) -> str:
    """The caller's request id when it is sane, else a new one."""
    if raw:
        try:
            value = raw.decode("ascii")
        except UnicodeDecodeError:
            value = ""
        if _SANE_REQUEST_ID.match(value):
            return value
    return uuid.uuid4().hex


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


class _BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    """Request id, access log, metrics and a request body limit in one pass.

    One middleware instead of four keeps the per-request cost low (every layer is a call and
    a closure per message).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: ServiceMetrics | None = None,
        max_body_bytes: int = 1_048_576,
        skip_log_paths: frozenset[str] = frozenset({"/health/live", "/health/ready", "/metrics"}),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.skip_log_paths = skip_log_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = pick_request_id(_header(scope, b"x-request-id"))
        rid_bytes = request_id.encode()
        token = set_request_id(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        span = (
            tracing.ServerSpan(scope["headers"], scope["method"], scope["path"])
            if tracing.enabled() and scope["path"] not in self.skip_log_paths
            else None
        )
        started = time.perf_counter()
        status = 500
        response_started = False

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, send, rid_bytes)
            self._finish(scope, 413, started, span, request_id)
            reset_request_id(token)
            return

        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid_bytes)]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except _BodyTooLarge:
            if not response_started:
                await self._too_large(scope, send, rid_bytes)
            status = 413
        except Exception as exc:
            # Rendered here rather than by Starlette's outermost handler, so the 500 still
            # carries the request id (in the body, the header and the log line).
            access_log.exception(
                "unhandled_error", path=scope["path"], error_type=type(exc).__name__
            )
            status = 500
            if not response_started:
                await self._send_problem(
                    send,
                    rid_bytes,
                    500,
                    problem_body(
                        500, detail="An unexpected error occurred", instance=scope["path"]
                    ),
                )
        finally:
            self._finish(scope, status, started, span, request_id)
            reset_request_id(token)

    def _finish(
        self,
        scope: Scope,
        status: int,
        started: float,
        span: tracing.ServerSpan | None = None,
        request_id: str | None = None,
    ) -> None:
        elapsed = time.perf_counter() - started
        route_path: str | None = getattr(scope.get("route"), "path", None)
        template = route_path or "unmatched"
        if span is not None:
            span.finish(status, route_path, request_id)
        if self.metrics is not None:
            self.metrics.observe(scope["method"], template, status, elapsed)
        if scope["path"] not in self.skip_log_paths:
            access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )

    async def _too_large(self, scope: Scope, send: Send, rid: bytes) -> None:
        body = problem_body(
            413,
            detail=f"The request body exceeds {self.max_body_bytes} bytes",
            instance=scope["path"],
        )
        await self._send_problem(send, rid, 413, body, close=True)

    @staticmethod
    async def _send_problem(
        send: Send, rid: bytes, status: int, body: dict[str, Any], *, close: bool = False
    ) -> None:
        payload = orjson.dumps(body)
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", rid),
        ]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def asgi_headers(scope: Scope) -> dict[str, Any]:
    """The request headers as a lower-cased dict (for small lookups)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
