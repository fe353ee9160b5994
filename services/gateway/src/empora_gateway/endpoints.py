"""The gateway's own routes: health, docs, the merged OpenAPI document and metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from empora_common.errors import install_error_handlers
from empora_common.responses import OrjsonResponse
from empora_gateway.account_pages import ACCOUNT_CSP, RESET_PASSWORD_HTML, VERIFY_EMAIL_HTML
from empora_gateway.docs import DOCS_CSP, DOCS_HTML

if TYPE_CHECKING:
    from empora_gateway.app import Gateway


def build_endpoints(gateway: Gateway) -> FastAPI:
    """A small FastAPI app the gateway dispatches its own paths to (never the hot path)."""
    app = FastAPI(
        title="Empora gateway",
        version="0.1.0",
        default_response_class=OrjsonResponse,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)

    @app.get("/api/health", tags=["health"], summary="Health of the whole platform")
    async def platform_health() -> OrjsonResponse:
        """Every service's health, checked concurrently; 200 only when all are ok."""
        status, body = await gateway.health.aggregate()
        return OrjsonResponse(body, status_code=status)

    @app.get("/api/health/gateway", tags=["health"], summary="Health of the gateway")
    async def gateway_health() -> OrjsonResponse:
        """The gateway itself, its Redis and its circuit breakers."""
        result = await gateway.self_health()
        body: dict[str, Any] = {
            "service": "gateway",
            **result,
            "circuits": {name: b.state.value for name, b in gateway.breakers.items()},
            "rate_limits": "ok"
            if gateway.limiter is not None and gateway.limiter.healthy
            else "fail-open",
            "checked_at": datetime.now(UTC).isoformat(),
        }
        return OrjsonResponse(body)

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi() -> Response:
        return Response(await gateway.openapi.document(), media_type="application/json")

    @app.get("/api/docs", include_in_schema=False)
    async def docs() -> Response:
        return Response(
            DOCS_HTML,
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"},
        )

    @app.get("/verify-email", include_in_schema=False)
    async def verify_email_page() -> Response:
        return _page(VERIFY_EMAIL_HTML)

    @app.get("/reset-password", include_in_schema=False)
    async def reset_password_page() -> Response:
        return _page(RESET_PASSWORD_HTML)

    @app.get("/health/live", include_in_schema=False)
    async def live() -> OrjsonResponse:
        return OrjsonResponse({"status": "ok", "service": "gateway"})

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> OrjsonResponse:
        # The gateway can serve without Redis (rate limits fail open), so it is ready.
        return OrjsonResponse({"status": "ok", "service": "gateway"})

    @app.get("/health", include_in_schema=False)
    async def details() -> OrjsonResponse:
        result = await gateway.self_health()
        return OrjsonResponse(
            {
                "service": "gateway",
                **result,
                "checked_at": datetime.now(UTC).isoformat(),
            }
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        for breaker in gateway.breakers.values():
            _ = breaker.state  # an expired open circuit shows as half-open
        return await gateway.metrics.endpoint(request)

    return app


def _page(html: bytes) -> Response:
    # The token is in the URL: never cache the page or leak it in a Referer.
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": ACCOUNT_CSP,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
