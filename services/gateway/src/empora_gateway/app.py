"""The gateway: one pure-ASGI callable in front of every service.

The hot path (every proxied request) is plain code over the ASGI scope: one pass over the
headers, routing by the first path segment, the JWT cache, one Redis round trip for the rate
limit, and an upstream call (``empora_common.upstream``) whose answer is streamed back. Only
the gateway's own routes (health, docs, OpenAPI, metrics) go through a small FastAPI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
from random import getrandbits
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import structlog
from redis.asyncio import Redis
from starlette.types import Message, Receive, Scope, Send

from empora_common import tracing
from empora_common.errors import EmporaError
from empora_common.logging import configure_logging, reset_request_id, set_request_id
from empora_common.middleware import pick_request_id
from empora_common.security import JWKS_PATH, InvalidToken, Principal, TokenVerifier
from empora_common.server import HttpProtocol
from empora_common.upstream import UpstreamConnectError, UpstreamPool
from empora_gateway import routing
from empora_gateway.accesslog import AccessLog
from empora_gateway.breaker import CircuitBreaker, RetryBudget
from empora_gateway.client_ip import ClientAddress
from empora_gateway.cors import CorsPolicy
from empora_gateway.endpoints import build_endpoints
from empora_gateway.headers import (
    API_CSP,
    CSP_NAME,
    SECURITY_HEADERS,
    STRIP_REQUEST,
    STRIP_REQUEST_PREFIXES,
    Header,
    header_names_in_connection,
    hsts_header,
)
from empora_gateway.health import HealthAggregator
from empora_gateway.metrics import GatewayMetrics
from empora_gateway.openapi import OpenApiMerger
from empora_gateway.problems import send_problem
from empora_gateway.proxy import Body, ClientGone, ClientTooSlow, Proxy, StreamedBody
from empora_gateway.ratelimit import TOKEN_BUCKET_LUA, Bucket, Decision, RateLimiter
from empora_gateway.redis_pipe import PipelinedRedis
from empora_gateway.revocation import RevocationReader
from empora_gateway.settings import GatewaySettings

log = structlog.get_logger("empora.gateway")

VERSION = "0.1.0"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
_LIMIT_VALUE = re.compile(r"\s*[+-]?[0-9]{1,9}\s*")


class Gateway:
    """The ASGI application (``create_app`` builds it)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.upstreams = settings.upstreams()
        self.breakers = {
            name: CircuitBreaker(
                name,
                threshold=settings.breaker_threshold,
                open_seconds=settings.breaker_open_seconds,
                metrics=self.metrics,
            )
            for name in self.upstreams
        }
        self.proxy = Proxy(
            metrics=self.metrics,
            breakers=self.breakers,
            budget=RetryBudget(settings.retry_budget_ratio, settings.retry_budget_min),
            connect_timeout=settings.connect_timeout,
            backoff=(settings.retry_backoff_min, settings.retry_backoff_max),
        )
        self.client_address = ClientAddress(settings.trusted_proxies)
        self.cors = CorsPolicy(
            settings.cors_origins, settings.cors_allow_credentials, settings.cors_max_age
        )
        self.default_bucket = Bucket(
            "ip", settings.rate_limit_default_burst, settings.rate_limit_default_refill
        )
        self.checkout_bucket = Bucket(
            "checkout", settings.rate_limit_checkout_burst, settings.rate_limit_checkout_refill
        )
        self.hsts = hsts_header(settings.hsts_max_age)
        self.max_body = settings.max_body_bytes
        self.max_headers = settings.max_header_bytes
        self.max_limit = settings.max_page_limit
        self.rate_limits_on = settings.rate_limit_enabled
        self.redis: PipelinedRedis | None = None
        self.limiter: RateLimiter | None = None
        self.verifier: TokenVerifier | None = None
        self.base_paths: dict[str, bytes] = {}
        self.health = HealthAggregator(
            self.upstreams,
            fetch=self.fetch,
            timeout=settings.health_timeout,
            breakers=self.breakers,
            self_check=self.self_health,
        )
        self.endpoints = build_endpoints(self)
        self.openapi = OpenApiMerger(
            self.upstreams,
            fetch=self.fetch,
            timeout=settings.health_timeout,
            cache_seconds=settings.openapi_cache_seconds,
            own_document=self.endpoints.openapi(),
            version=VERSION,
        )
        self.access_log = (
            AccessLog(settings.service_name)
            if settings.access_log and settings.log_level.upper() in ("DEBUG", "INFO")
            else None
        )
        self._started = False
        self._traces_here = False

    # ------------------------------------------------------------------ lifecycle

    async def startup(self) -> None:
        """Build the pools: upstream HTTP, Redis, the token verifier."""
        settings = self.settings
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        self._traces_here = tracing.configure_tracing("gateway")
        loop = asyncio.get_running_loop()
        for name, base in self.upstreams.items():
            self.proxy.pools[name] = UpstreamPool.for_url(
                base,
                limit=settings.upstream_pool_size,
                keepalive=settings.upstream_keepalive,
                connect_timeout=settings.connect_timeout,
                loop=loop,
            )
            self.base_paths[name] = urlsplit(base).path.rstrip("/").encode("ascii")
        self.redis = PipelinedRedis(settings.redis_url, timeout=settings.redis_timeout)
        self.limiter = RateLimiter(
            self.redis,
            prefix=settings.redis_prefix,
            metrics=self.metrics,
            retry_after_failure=settings.redis_retry_after,
        )
        try:
            await self.redis.execute("SCRIPT", "LOAD", TOKEN_BUCKET_LUA)
        except Exception as exc:  # Redis may be down at start; the limiter fails open
            log.warning("rate_limit_script_not_loaded", error=f"{type(exc).__name__}: {exc}")
        self.verifier = TokenVerifier(
            jwks_url=settings.auth_url.rstrip("/") + JWKS_PATH,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            # Duck-typed: the verifier only calls ``get`` (see revocation.py).
            redis=cast(
                Redis,
                RevocationReader(self.redis, retry_after=settings.redis_retry_after),
            ),
            redis_prefix=settings.redis_prefix,
        )
        self._started = True
        log.info("gateway_started", port=settings.port, upstreams=self.upstreams)
        if uvicorn_rewrites_client_addresses():
            log.warning(
                "uvicorn_proxy_headers_on",
                hint="run with --no-proxy-headers (or python -m empora_gateway): uvicorn "
                "takes X-Forwarded-For from local peers before TRUSTED_PROXIES is applied",
            )

    async def shutdown(self) -> None:
        """Close the pools."""
        if self.access_log is not None:
            self.access_log.flush()
        if self.verifier is not None:
            await self.verifier.close()
        for pool in self.proxy.pools.values():
            await pool.close()
        if self.redis is not None:
            await self.redis.close()
        if self._traces_here:
            tracing.shutdown_tracing()
            self._traces_here = False
        self._started = False

    async def fetch(self, service: str, path: bytes) -> tuple[int, bytes]:
        """A GET of one of a service's own routes (health, OpenAPI), through its pool."""
        pool = self.proxy.pools.get(service)
        if pool is None:
            raise UpstreamConnectError("the gateway has not started")
        deadline = asyncio.get_running_loop().time() + self.settings.health_timeout
        return await pool.fetch("GET", self.base_paths[service] + path, [], None, deadline)

    async def self_health(self) -> dict[str, Any]:
        """The gateway's own health: it answers, and whether its Redis does."""
        started = time.perf_counter()
        redis_status = "down"
        if self.redis is not None:
            try:
                async with asyncio.timeout(min(1.0, self.settings.health_timeout)):
                    await self.redis.execute("PING")
                redis_status = "ok"
            except TimeoutError:
                redis_status = "timeout"
            except Exception:
                redis_status = "down"
        return {
            "status": "ok" if redis_status == "ok" else "degraded",
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "checks": {"redis": redis_status},
        }

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.handle(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # websockets are not part of the API
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway_start_failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request, start to finish."""
        started = time.perf_counter()
        # One pass over the headers: what to forward, and what the gateway itself needs.
        request_id_raw = authorization = origin = forwarded_for = forwarded_proto = None
        content_length = transfer_encoding = connection = None
        preflight_method = preflight_headers = None
        header_bytes = 0
        forward: list[Header] = []
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value) + 4
            if name in STRIP_REQUEST:
                if name == b"x-request-id":
                    request_id_raw = value
                elif name == b"content-length":
                    content_length = value
                elif name == b"transfer-encoding":
                    transfer_encoding = value
                elif name == b"x-forwarded-for":
                    forwarded_for = value if forwarded_for is None else forwarded_for + b"," + value
                elif name == b"x-forwarded-proto":
                    forwarded_proto = value
                elif name == b"connection":
                    connection = value
                continue
            if name.startswith(STRIP_REQUEST_PREFIXES):
                continue
            if name == b"authorization":
                authorization = value
            elif name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight_method = value
            elif name == b"access-control-request-headers":
                preflight_headers = value
            forward.append((name, value))

        # A fresh id is 128 random bits in hex like pick_request_id's, without a getrandom(2)
        # syscall per request: a request id is a label, not a secret.
        request_id = (
            pick_request_id(request_id_raw)
            if request_id_raw is not None
            else f"{getrandbits(128):032x}"
        )
        token = set_request_id(request_id)
        method: str = scope["method"]
        if method == "HEAD":
            # HEAD is GET without the body (RFC 9110 9.3.2): routed, limited and forwarded as
            # a GET; uvicorn leaves the body out, its own record of the request being HEAD.
            method = "GET"
            scope = {**scope, "method": "GET"}
        path: str = scope["path"]
        span = (
            tracing.ServerSpan(scope["headers"], method, path)
            if tracing.enabled() and path not in routing.PROBE_PATHS
            else None
        )
        client = scope.get("client")
        peer = client[0] if client else "0.0.0.0"
        client_ip = self.client_address.resolve(peer, forwarded_for)

        extra: list[Header] = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
        secure = scope.get("scheme") == "https" or (
            forwarded_proto is not None
            and forwarded_proto.strip().lower() == b"https"
            and self.client_address.is_trusted(peer)
        )
        if secure:
            extra.append(self.hsts)
        if origin is not None and self.cors.allowed(origin):
            if method == "OPTIONS" and preflight_method is not None:
                extra.extend(self.cors.preflight_headers(origin, preflight_headers))
            else:
                extra.extend(self.cors.response_headers(origin))

        status = 500
        route_label = "unmatched"
        try:
            if header_bytes > self.max_headers:
                status = 431
                await send_problem(
                    send,
                    431,
                    detail=f"The request headers exceed {self.max_headers} bytes",
                    headers=extra,
                    instance=path,
                    close=True,
                )
                return
            if routing.is_suspicious(path, scope.get("raw_path")):
                status = await self._not_found(send, method, path, extra)
                return
            if method == "OPTIONS" and origin is not None and preflight_method is not None:
                status = await self._preflight(send, origin, path, extra)
                route_label = "preflight"
                return
            target = routing.resolve(path)
            if target is None:
                status = await self._not_found(send, method, path, extra)
                return
            if target.own:
                route_label = path
                status = await self._own(scope, receive, send, path, client_ip, extra)
                return
            route_label = target.service
            status = await self._proxy(
                scope,
                receive,
                send,
                service=target.service,
                method=method,
                path=path,
                forward=forward,
                client_ip=client_ip,
                authorization=authorization,
                content_length=content_length,
                transfer_encoding=transfer_encoding,
                connection=connection,
                request_id=request_id,
                secure=secure,
                extra=extra,
            )
        except Exception:
            # A bug, never something a client can cause: answer problem+json if we still can.
            log.exception("gateway_error", path=path, method=method)
            status = 500
            with contextlib.suppress(Exception):
                await send_problem(
                    send,
                    500,
                    detail="An unexpected error occurred",
                    headers=extra,
                    instance=path,
                    close=True,
                )
        finally:
            elapsed = time.perf_counter() - started
            if span is not None:
                span.finish(status, route_label, request_id)
            self.metrics.observe(
                method if method in KNOWN_METHODS else "OTHER", route_label, status, elapsed
            )
            if self.access_log is not None and path not in routing.PROBE_PATHS:
                self.access_log.log(
                    request_id=request_id,
                    method=method,
                    path=path,
                    route=route_label,
                    status=status,
                    client_ip=client_ip,
                    duration_ms=round(elapsed * 1000, 2),
                )
            reset_request_id(token)

    # ------------------------------------------------------------------ pieces

    async def _not_found(self, send: Send, method: str, path: str, extra: list[Header]) -> int:
        await send_problem(
            send, 404, detail=f"No route for {method} {path}", headers=extra, instance=path
        )
        return 404

    async def _preflight(self, send: Send, origin: bytes, path: str, extra: list[Header]) -> int:
        if not self.cors.allowed(origin):
            await send_problem(
                send,
                403,
                slug="cors-origin-not-allowed",
                title="Origin not allowed",
                detail="This origin may not call the API from a browser",
                headers=extra,
                instance=path,
            )
            return 403
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [*extra, API_CSP],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return 204

    async def _own(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        path: str,
        client_ip: str,
        extra: list[Header],
    ) -> int:
        """The gateway's own routes, through the small FastAPI app."""
        if path not in routing.PROBE_PATHS:
            decision = await self._limit(self.default_bucket, client_ip)
            if decision is not None:
                extra.extend(decision.headers())
                if not decision.allowed:
                    return await self._too_many(send, path, extra)
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name == CSP_NAME for name, _ in headers):
                    headers.append(API_CSP)
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.endpoints(scope, receive, send_wrapper)
        return status

    async def _limit(self, bucket: Bucket, subject: str) -> Decision | None:
        limiter = self.limiter
        if limiter is None or not self.settings.rate_limit_enabled:
            return None
        return await limiter.take(bucket, subject)

    async def _too_many(self, send: Send, path: str, extra: list[Header]) -> int:
        self.metrics.rate_limited.labels("default").inc()
        await send_problem(
            send,
            429,
            detail="Too many requests; slow down and retry after the indicated time",
            headers=extra,
            instance=path,
        )
        return 429

    async def _authenticate(self, authorization: bytes) -> Principal:
        """Verify the bearer token (cached until exp, revocation honoured)."""
        verifier = self.verifier
        assert verifier is not None
        if authorization[:7].lower() != b"bearer ":
            raise InvalidToken("The Authorization header must be 'Bearer <token>'")
        raw = authorization[7:].strip()
        if not raw:
            raise InvalidToken("The bearer token is empty")
        return await verifier.verify(raw.decode("latin-1"))

    async def _proxy(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        service: str,
        method: str,
        path: str,
        forward: list[Header],
        client_ip: str,
        authorization: bytes | None,
        content_length: bytes | None,
        transfer_encoding: bytes | None,
        connection: bytes | None,
        request_id: str,
        secure: bool,
        extra: list[Header],
    ) -> int:
        is_checkout = method == "POST" and path == routing.CHECKOUT_PATH
        settings = self.settings

        if not is_checkout and self.rate_limits_on:
            decision = await self._limit(self.default_bucket, client_ip)
            if decision is not None:
                extra.extend(decision.headers())
                if not decision.allowed:
                    return await self._too_many(send, path, extra)

        principal: Principal | None = None
        if authorization is not None and settings.verify_tokens:
            try:
                principal = await self._authenticate(authorization)
            except Exception as exc:
                if not isinstance(exc, EmporaError):
                    # Whatever a token contains, its sender gets a 401, never a 500.
                    log.warning("token_check_failed", error=type(exc).__name__)
                    exc = InvalidToken("The token could not be verified")
                self.metrics.tokens_rejected.inc()
                await send_problem(
                    send,
                    exc.status,
                    slug=exc.slug,
                    title=exc.title,
                    detail=exc.detail,
                    headers=[*extra, (b"www-authenticate", b"Bearer")],
                    instance=path,
                )
                return exc.status

        if is_checkout:
            if principal is not None:
                decision = await self._limit(self.checkout_bucket, str(principal.user_id))
                bucket_name = "checkout"
            else:
                decision = await self._limit(self.default_bucket, client_ip)
                bucket_name = "default"
            if decision is not None:
                extra.extend(decision.headers())
                if not decision.allowed:
                    self.metrics.rate_limited.labels(bucket_name).inc()
                    await send_problem(
                        send,
                        429,
                        detail="Too many checkouts; retry after the indicated time",
                        headers=extra,
                        instance=path,
                    )
                    return 429

        query: bytes = scope.get("query_string", b"")
        if query:
            if not query.isascii():
                await send_problem(
                    send,
                    400,
                    detail="The query string must be ASCII",
                    headers=extra,
                    instance=path,
                )
                return 400
            if method == "GET" and path in routing.LIST_PATHS and b"limit" in query:
                problem = self._check_limit(query)
                if problem is not None:
                    await send_problem(
                        send,
                        422,
                        detail="The request is not valid",
                        headers=extra,
                        instance=path,
                        extra={"errors": [{"field": "limit", "message": problem}]},
                    )
                    return 422

        raw_path: bytes = scope.get("raw_path") or path.encode()
        if not raw_path.isascii():
            return await self._not_found(send, method, path, extra)

        if connection is not None:
            listed = header_names_in_connection(connection) - {b"close", b"keep-alive"}
            if listed:
                forward = [(k, v) for k, v in forward if k not in listed]

        body: Body = None
        if content_length is not None:
            if not content_length.isdigit() or len(content_length) > 18:
                await send_problem(
                    send,
                    400,
                    detail="Invalid Content-Length",
                    headers=extra,
                    instance=path,
                    close=True,
                )
                return 400
            length = int(content_length)
            if length > self.max_body:
                await send_problem(
                    send,
                    413,
                    detail=f"The request body exceeds {self.max_body} bytes",
                    headers=extra,
                    instance=path,
                    close=True,
                )
                return 413
            if length or method not in BODYLESS_METHODS:
                try:
                    body = await self._read_declared(receive, length)
                except ClientGone:
                    return 0
                except ClientTooSlow:
                    return await self._too_slow(send, path, extra)
                if isinstance(body, StreamedBody):
                    forward.append((b"content-length", str(length).encode()))
        elif transfer_encoding is not None:
            try:
                body = await self._read_chunked(receive)
            except ClientGone:
                return 0
            except ClientTooSlow:
                return await self._too_slow(send, path, extra)
            if body is None:
                await send_problem(
                    send,
                    413,
                    detail=f"The request body exceeds {self.max_body} bytes",
                    headers=extra,
                    instance=path,
                    close=True,
                )
                return 413

        if tracing.enabled():
            # The services continue the gateway's span, not whatever the client claimed.
            forward = [h for h in forward if h[0] not in tracing.TRACE_HEADERS]
            forward.extend(tracing.trace_headers())
        forward.append((b"x-request-id", request_id.encode()))
        forward.append((b"x-forwarded-for", client_ip.encode()))
        forward.append((b"x-forwarded-proto", b"https" if secure else b"http"))
        target = self.base_paths[service] + raw_path
        if query:
            target += b"?" + query
        timeout = (
            settings.checkout_timeout
            if routing.is_checkout_like(method, path)
            else settings.upstream_timeout
        )
        return await self.proxy.forward(
            send,
            service=service,
            method=method,
            target=target,
            headers=forward,
            body=body,
            timeout=timeout,
            extra=extra,
            instance=path,
        )

    def _check_limit(self, query: bytes) -> str | None:
        """A message when ``limit`` is not an integer in 1..max, else None."""
        for key, value in parse_qsl(query.decode("ascii"), keep_blank_values=True):
            if key != "limit":
                continue
            if _LIMIT_VALUE.fullmatch(value) is None:
                return "limit must be an integer"
            number = int(value)
            if number < 1 or number > self.max_limit:
                return f"limit must be between 1 and {self.max_limit}"
        return None

    async def _receive_body(self, receive: Receive) -> Message:
        async with asyncio.timeout(self.settings.client_body_timeout):
            message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        return message

    async def _read_declared(self, receive: Receive, length: int) -> Body:
        """A body with a Content-Length: bytes when it came in one piece, else a stream."""
        try:
            message = await self._receive_body(receive)
        except TimeoutError:
            raise ClientTooSlow from None
        chunk: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            return chunk
        return StreamedBody(chunk, receive, self.settings.client_body_timeout, length)

    async def _read_chunked(self, receive: Receive) -> bytes | None:
        """A body without a length, buffered so an oversized one never reaches a service."""
        parts: list[bytes] = []
        size = 0
        while True:
            try:
                message = await self._receive_body(receive)
            except TimeoutError:
                raise ClientTooSlow from None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _too_slow(self, send: Send, path: str, extra: list[Header]) -> int:
        await send_problem(
            send,
            408,
            slug="request-timeout",
            title="Request timeout",
            detail="The request body was not received in time",
            headers=extra,
            instance=path,
            close=True,
        )
        return 408


def uvicorn_rewrites_client_addresses(
    argv: list[str] | None = None, environ: dict[str, str] | None = None
) -> bool:
    """Whether this process looks like uvicorn's CLI with its proxy-header rewriting on."""
    args = sys.argv if argv is None else argv
    env = os.environ if environ is None else environ
    command = " ".join(args)
    return (
        "uvicorn" in command
        and "--no-proxy-headers" not in args
        and env.get("FORWARDED_ALLOW_IPS", "127.0.0.1") != ""
    )


def http_protocol(settings: GatewaySettings) -> type[HttpProtocol]:
    """The server protocol: one write per response, and the request-head timeout."""
    return type(
        "GatewayHttpProtocol", (HttpProtocol,), {"header_timeout": settings.client_header_timeout}
    )


def create_app(settings: GatewaySettings | None = None) -> Gateway:
    """The gateway ASGI app (``uvicorn empora_gateway.app:create_app --factory``)."""
    return Gateway(settings or GatewaySettings())
