"""Gateway configuration: upstreams, timeouts, limits, rate limits, CORS and proxies."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from empora_common.settings import ServiceSettings


def _split_list(value: Any) -> Any:
    """Comma- or space-separated env values as a list (JSON lists still work)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
    return value


class GatewaySettings(ServiceSettings):
    """The gateway's settings; every name here is an environment variable (see README)."""

    service_name: str = "gateway"
    port: int = Field(3001, validation_alias="GATEWAY_PORT")

    # Upstream calls.
    upstream_timeout: float = Field(15.0, validation_alias="GATEWAY_UPSTREAM_TIMEOUT", gt=0)
    checkout_timeout: float = Field(35.0, validation_alias="GATEWAY_CHECKOUT_TIMEOUT", gt=0)
    connect_timeout: float = Field(2.0, validation_alias="GATEWAY_CONNECT_TIMEOUT", gt=0)
    upstream_pool_size: int = Field(512, validation_alias="GATEWAY_UPSTREAM_POOL_SIZE", ge=1)
    # Below the services' uvicorn keep-alive (5 s) so we never reuse a socket they closed.
    upstream_keepalive: float = Field(4.0, validation_alias="GATEWAY_UPSTREAM_KEEPALIVE", gt=0)
    retry_budget_ratio: float = Field(0.2, validation_alias="GATEWAY_RETRY_BUDGET", ge=0, le=1)
    retry_budget_min: int = Field(3, validation_alias="GATEWAY_RETRY_BUDGET_MIN", ge=0)
    retry_backoff_min: float = Field(0.025, validation_alias="GATEWAY_RETRY_BACKOFF_MIN", ge=0)
    retry_backoff_max: float = Field(0.25, validation_alias="GATEWAY_RETRY_BACKOFF_MAX", ge=0)

    # Circuit breaker / outlier ejection per upstream.
    breaker_threshold: int = Field(5, validation_alias="GATEWAY_BREAKER_THRESHOLD", ge=1)
    breaker_open_seconds: float = Field(30.0, validation_alias="GATEWAY_BREAKER_OPEN_SECONDS", gt=0)

    # Health aggregation and the merged OpenAPI document.
    health_timeout: float = Field(2.0, validation_alias="GATEWAY_HEALTH_TIMEOUT", gt=0)
    openapi_cache_seconds: float = Field(30.0, validation_alias="GATEWAY_OPENAPI_CACHE_SECONDS")

    # Request limits.
    max_header_bytes: int = Field(16_384, validation_alias="GATEWAY_MAX_HEADER_BYTES", ge=1024)
    client_body_timeout: float = Field(30.0, validation_alias="GATEWAY_CLIENT_BODY_TIMEOUT", gt=0)
    # Time a client has to send a request's head (slowloris); then 408 and the socket closes.
    client_header_timeout: float = Field(
        10.0, validation_alias="GATEWAY_CLIENT_HEADER_TIMEOUT", gt=0
    )
    max_page_limit: int = Field(100, validation_alias="GATEWAY_MAX_PAGE_LIMIT", ge=1)
    # uvicorn settings used by ``python -m empora_gateway`` (documented for plain uvicorn too).
    keepalive_timeout: int = Field(5, validation_alias="GATEWAY_KEEPALIVE_TIMEOUT", ge=1)
    # On SIGTERM, requests in flight get this long to finish before their connections close.
    graceful_shutdown: int = Field(10, validation_alias="GATEWAY_GRACEFUL_SHUTDOWN", ge=0)

    # Authentication at the edge.
    verify_tokens: bool = Field(True, validation_alias="GATEWAY_VERIFY_TOKENS")

    # Rate limits (token buckets in Redis).
    rate_limit_enabled: bool = Field(True, validation_alias="RATE_LIMIT_ENABLED")
    rate_limit_default_burst: int = Field(1000, validation_alias="RATE_LIMIT_DEFAULT_BURST", ge=1)
    rate_limit_default_refill: float = Field(
        500.0, validation_alias="RATE_LIMIT_DEFAULT_REFILL", gt=0
    )
    rate_limit_checkout_burst: int = Field(10, validation_alias="RATE_LIMIT_CHECKOUT_BURST", ge=1)
    rate_limit_checkout_refill: float = Field(
        1.0, validation_alias="RATE_LIMIT_CHECKOUT_REFILL", gt=0
    )
    redis_timeout: float = Field(0.25, validation_alias="GATEWAY_REDIS_TIMEOUT", gt=0)
    # After a Redis failure the limiter fails open without asking Redis for this long.
    redis_retry_after: float = Field(1.0, validation_alias="GATEWAY_REDIS_RETRY_AFTER", ge=0)

    # Client addresses and TLS.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="TRUSTED_PROXIES"
    )
    hsts_max_age: int = Field(31_536_000, validation_alias="GATEWAY_HSTS_MAX_AGE", ge=0)

    # CORS.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"], validation_alias="CORS_ORIGINS"
    )
    cors_allow_credentials: bool = Field(False, validation_alias="CORS_ALLOW_CREDENTIALS")
    cors_max_age: int = Field(600, validation_alias="CORS_MAX_AGE", ge=0)

    access_log: bool = Field(True, validation_alias="GATEWAY_ACCESS_LOG")

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @model_validator(mode="after")
    def _credentials_need_explicit_origins(self) -> GatewaySettings:
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError("CORS_ALLOW_CREDENTIALS=true needs explicit CORS_ORIGINS, never '*'")
        if self.retry_backoff_max < self.retry_backoff_min:
            raise ValueError("GATEWAY_RETRY_BACKOFF_MAX must be >= GATEWAY_RETRY_BACKOFF_MIN")
        return self

    def upstreams(self) -> dict[str, str]:
        """Service name -> base URL (no trailing slash)."""
        return {
            "auth": self.auth_url.rstrip("/"),
            "product": self.product_url.rstrip("/"),
            "cart": self.cart_url.rstrip("/"),
            "order": self.order_url.rstrip("/"),
            "notification": self.notification_url.rstrip("/"),
        }
