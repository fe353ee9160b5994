"""InternalClient against a real server: credential, request id, JSON, failures."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from empora_common.errors import UpstreamTimeout, UpstreamUnavailable
from empora_common.http import InternalClient
from empora_common.logging import reset_request_id, set_request_id
from empora_common.testing.infra import AppServer, free_port


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/internal/echo/{name}", methods=["GET", "POST"])
    async def echo(name: str, request: Request) -> dict[str, object]:
        return {
            "name": name,
            "query": request.url.query,
            "token": request.headers.get("x-internal-token"),
            "request_id": request.headers.get("x-request-id"),
            "content_type": request.headers.get("content-type"),
            "json": await request.json() if await request.body() else None,
        }

    @app.get("/internal/text")
    async def text() -> PlainTextResponse:
        return PlainTextResponse("not json", status_code=409)

    @app.get("/internal/slow")
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(2)
        return {"late": True}

    return app


@pytest.fixture
async def server() -> AppServer:
    started = await AppServer(echo_app()).start()
    yield started  # type: ignore[misc]
    await started.stop()


class TestInternalClient:
    async def test_json_round_trip_with_credential_and_request_id(self, server: AppServer) -> None:
        client = InternalClient("s3cret")
        token = set_request_id("req-123")
        try:
            try:
                resp = await client.request(
                    "POST", server.url + "/internal/echo/caf%C3%A9?x=1", json={"a": [1, 2]}
                )
            finally:
                reset_request_id(token)
            again = await client.request("GET", server.url + "/internal/echo/plain")
        finally:
            await client.close()
        assert resp.status == 200
        assert resp.body == {
            "name": "café",
            "query": "x=1",
            "token": "s3cret",
            "request_id": "req-123",
            "content_type": "application/json",
            "json": {"a": [1, 2]},
        }
        assert again.body["json"] is None and again.body["request_id"] is None

    async def test_a_non_json_answer_is_kept_as_text(self, server: AppServer) -> None:
        client = InternalClient("t")
        try:
            resp = await client.request("GET", server.url + "/internal/text")
        finally:
            await client.close()
        assert (resp.status, resp.body) == (409, "not json")

    async def test_a_slow_service_is_a_504_problem(self, server: AppServer) -> None:
        client = InternalClient("t")
        try:
            with pytest.raises(UpstreamTimeout):
                await client.request("GET", server.url + "/internal/slow", timeout=0.2)
        finally:
            await client.close()

    async def test_a_service_that_is_down_is_a_503_problem(self) -> None:
        client = InternalClient("t")
        try:
            with pytest.raises(UpstreamUnavailable):
                await client.request("GET", f"http://127.0.0.1:{free_port()}/internal/x")
        finally:
            await client.close()

    async def test_only_plain_http_urls(self) -> None:
        client = InternalClient("t")
        with pytest.raises(ValueError, match="plain http"):
            await client.request("GET", "https://example.invalid/internal/x")
