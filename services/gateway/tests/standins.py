"""Real HTTP stand-ins of the five services: small Starlette apps that echo, sleep, fail or
stream on demand, recording every request they get."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from empora_common.security import JWKS_PATH
from empora_common.testing.infra import AppServer, free_port, port_open
from empora_common.testing.tokens import TestSigner
from empora_gateway.app import Gateway

SERVICES = ("auth", "product", "cart", "order", "notification")
PREFIX_OF = {
    "auth": "/api/auth",
    "product": "/api/products",
    "cart": "/api/cart",
    "order": "/api/orders",
    "notification": "/api/notifications",
}


@dataclass
class Hit:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    body: bytes


@dataclass
class StandIn:
    """One service's stand-in. Behaviour by path suffix under the service's prefix:

    ``.../sleep?seconds=N`` (or any path with ``?sleep=N``) sleeps then answers,
    ``.../notfound`` answers 404, ``.../fail`` answers 500 (or ``fail_status``),
    ``.../stream`` streams chunks, ``.../big`` answers 256 KiB; anything else echoes the request.
    ``health`` and ``health_delay`` control ``GET /health``.
    """

    name: str
    signer: TestSigner
    hits: list[Hit] = field(default_factory=list)
    health: dict[str, Any] = field(
        default_factory=lambda: {"status": "ok", "checks": {"database": "ok"}}
    )
    health_status: int = 200
    health_delay: float = 0.0
    fail_status: int = 500
    fail_all: bool = False
    openapi: dict[str, Any] | None = None

    def count(self, suffix: str = "") -> int:
        return sum(1 for h in self.hits if h.path.endswith(suffix))

    def app(self) -> Starlette:
        async def health(_request: Request) -> Response:
            if self.health_delay:
                await asyncio.sleep(self.health_delay)
            return JSONResponse(self.health, status_code=self.health_status)

        async def openapi(_request: Request) -> Response:
            if self.openapi is None:
                return JSONResponse({"detail": "none"}, status_code=404)
            return JSONResponse(self.openapi)

        async def jwks(_request: Request) -> Response:
            return JSONResponse(self.signer.jwks())

        async def anything(request: Request) -> Response:
            body = await request.body()
            path = request.url.path
            self.hits.append(
                Hit(
                    method=request.method,
                    path=path,
                    query=request.url.query,
                    headers=dict(request.headers),
                    raw_headers=[
                        (k.decode(), v.decode(errors="replace")) for k, v in request.headers.raw
                    ],
                    body=body,
                )
            )
            if self.fail_all or path.endswith("/fail"):
                return JSONResponse({"error": "boom"}, status_code=self.fail_status)
            if path.endswith("/sleep") or "sleep" in request.query_params:
                seconds = request.query_params.get("seconds") or request.query_params["sleep"]
                await asyncio.sleep(float(seconds))
                return JSONResponse({"slept": True})
            if path.endswith("/notfound"):
                return JSONResponse({"detail": "nope"}, status_code=404)
            if path.endswith("/stream"):

                async def chunks() -> AsyncIterator[bytes]:
                    for i in range(5):
                        yield f"chunk-{i};".encode()
                        await asyncio.sleep(0.01)

                return StreamingResponse(chunks(), media_type="text/plain")
            if path.endswith("/big"):
                return Response(b"x" * 262_144, media_type="application/octet-stream")
            if path.endswith("/cookie"):
                response = JSONResponse({"ok": True}, status_code=201)
                response.set_cookie("session", "abc")
                response.headers["X-Cart-Token"] = "cart-token-1"
                response.headers["Access-Control-Allow-Origin"] = "*"
                return response
            return JSONResponse(
                {
                    "service": self.name,
                    "method": request.method,
                    "path": path,
                    "query": request.url.query,
                    "headers": dict(request.headers),
                    "body_length": len(body),
                }
            )

        return Starlette(
            routes=[
                Route("/health", health),
                Route("/openapi.json", openapi),
                Route(JWKS_PATH, jwks),
                Route(
                    "/{path:path}",
                    anything,
                    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                ),
            ]
        )


class Upstreams:
    """The five stand-ins, served for the whole session; reset before each test."""

    def __init__(self, signer: TestSigner) -> None:
        self.signer = signer
        self.stand_ins = {name: StandIn(name, signer) for name in SERVICES}
        self.servers: dict[str, AppServer] = {}

    def __getitem__(self, name: str) -> StandIn:
        return self.stand_ins[name]

    def urls(self) -> dict[str, str]:
        return {f"{name.upper()}_URL": server.url for name, server in self.servers.items()}

    def reset(self) -> None:
        for name, stand_in in list(self.stand_ins.items()):
            fresh = StandIn(name, self.signer)
            stand_in.__dict__.update(fresh.__dict__)

    async def start(self) -> None:
        for name, stand_in in self.stand_ins.items():
            self.servers[name] = await AppServer(stand_in.app()).start()

    async def stop(self) -> None:
        for server in self.servers.values():
            await server.stop()


GatewayFactory = Callable[..., Awaitable[tuple[Gateway, AppServer]]]


class PrivateRedis:
    """A redis-server of this test alone (stopping it never touches the shared one)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            if port_open("127.0.0.1", self.port):
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
