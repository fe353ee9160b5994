"""The shared app factory over real HTTP: problem+json for everything a client can send."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from empora_common.app import ServiceSpec, create_service_app
from empora_common.security import CurrentUser
from empora_common.settings import ServiceSettings
from empora_common.testing.infra import AppServer, TestInfra, serve
from empora_common.testing.tokens import TestSigner

router = APIRouter()


class Thing(BaseModel):
    name: str


@router.post("/api/things", status_code=201)
async def create_thing(body: Thing, user: CurrentUser) -> dict[str, str]:
    return {"name": body.name, "user": str(user.user_id)}


@router.get("/api/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture(scope="module")
async def server(infra: TestInfra, jwks_server: AppServer) -> AsyncIterator[AppServer]:
    settings = ServiceSettings(
        service_name="demo",
        REDIS_URL=infra.redis_url,
        AUTH_URL=jwks_server.url,
        EMPORA_RUN_WORKERS=False,
        MAX_BODY_BYTES=1000,
    )
    spec = ServiceSpec(
        settings=settings,
        title="demo",
        description="demo",
        routers=[router],
        uses_database=False,
    )
    async with serve(create_service_app(spec)) as srv:
        yield srv


async def call(
    server: AppServer, method: str, path: str, **kw: object
) -> tuple[int, dict[str, str], dict]:  # type: ignore[type-arg]
    async with aiohttp.ClientSession() as s, s.request(method, server.url + path, **kw) as r:  # type: ignore[arg-type]
        return r.status, dict(r.headers), await r.json(content_type=None)


class TestProblemDetails:
    async def test_unknown_route_is_404_problem(self, server: AppServer) -> None:
        status, headers, body = await call(server, "GET", "/api/nothing")
        assert status == 404
        assert headers["Content-Type"] == "application/problem+json"
        assert body["type"] == "https://empora.dev/problems/not-found"
        assert body["request_id"] == headers["X-Request-ID"]

    async def test_malformed_json_is_400(self, server: AppServer, signer: TestSigner) -> None:
        status, _, body = await call(
            server,
            "POST",
            "/api/things",
            data=b'{"name": ',
            headers={"Content-Type": "application/json", **signer.headers()},
        )
        assert status == 400 and body["type"].endswith("/malformed-json")

    async def test_a_body_that_is_not_utf8_is_malformed_json_too(
        self, server: AppServer, signer: TestSigner
    ) -> None:
        status, headers, body = await call(
            server,
            "POST",
            "/api/things",
            data=b'{"name": "inv\xff"}',
            headers={"Content-Type": "application/json", **signer.headers()},
        )
        assert status == 400 and body["type"].endswith("/malformed-json")
        assert headers["Content-Type"] == "application/problem+json"

    async def test_validation_error_lists_fields(
        self, server: AppServer, signer: TestSigner
    ) -> None:
        status, _, body = await call(
            server, "POST", "/api/things", json={"nam": 1}, headers=signer.headers()
        )
        assert status == 422
        assert body["errors"] == [{"field": "name", "message": "Field required"}]

    async def test_missing_token_is_401_before_validation(self, server: AppServer) -> None:
        status, headers, _ = await call(server, "POST", "/api/things", json={"nam": 1})
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"

    async def test_wrong_method_is_405(self, server: AppServer) -> None:
        status, _, body = await call(server, "DELETE", "/api/things")
        assert status == 405 and body["status"] == 405

    async def test_oversized_body_is_413(self, server: AppServer, signer: TestSigner) -> None:
        status, _, body = await call(
            server, "POST", "/api/things", data=b"x" * 5000, headers=signer.headers()
        )
        assert status == 413 and body["type"].endswith("/payload-too-large")

    async def test_unexpected_error_is_500_without_internals_but_with_request_id(
        self, server: AppServer
    ) -> None:
        status, headers, body = await call(
            server, "GET", "/api/boom", headers={"X-Request-ID": "trace-me-1"}
        )
        assert status == 500
        assert headers["X-Request-ID"] == "trace-me-1"
        assert body["request_id"] == "trace-me-1"
        assert "hunter2" not in str(body) and "Traceback" not in str(body)


class TestHealthAndMetrics:
    async def test_live_and_details(self, server: AppServer) -> None:
        status, _, body = await call(server, "GET", "/health/live")
        assert status == 200 and body["status"] == "ok"
        status, _, body = await call(server, "GET", "/health")
        assert status == 200 and body["checks"] == {"redis": "ok"}

    async def test_metrics_count_requests_by_route_template(self, server: AppServer) -> None:
        await call(server, "GET", "/api/nothing")
        async with aiohttp.ClientSession() as s, s.get(server.url + "/metrics") as r:
            text = await r.text()
        assert 'route="/health/live"' in text and "http_request_duration_seconds" in text


class TestErrorPrecedence:
    async def test_malformed_body_without_token_is_401(self, server: AppServer) -> None:
        status, _, body = await call(
            server,
            "POST",
            "/api/things",
            data=b'{"name": ',
            headers={"Content-Type": "application/json"},
        )
        assert status == 401 and body["status"] == 401

    async def test_invalid_body_with_bad_token_is_401(self, server: AppServer) -> None:
        status, _, _ = await call(
            server,
            "POST",
            "/api/things",
            json={"nam": 1},
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert status == 401
