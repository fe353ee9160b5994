"""Settings shared by every service; each service subclasses ServiceSettings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-internal-token"


class ServiceSettings(BaseSettings):
    """Configuration names of the API contract; one instance per service process."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias="EMPORA_ENV"
    )
    host: str = Field("127.0.0.1", validation_alias="EMPORA_HOST")
    port: int = 8000
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_json: bool = Field(True, validation_alias="LOG_JSON")

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/empora", validation_alias="DATABASE_URL"
    )
    db_pool_size: int = Field(10, validation_alias="DB_POOL_SIZE")
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/", validation_alias="AMQP_URL")
    # Prefix for exchange and queue names, so parallel test runs on one broker never meet.
    amqp_prefix: str = Field("", validation_alias="AMQP_PREFIX")
    # Prefix for Redis keys, for the same reason.
    redis_prefix: str = Field("", validation_alias="REDIS_PREFIX")

    internal_api_token: SecretStr = Field(
        SecretStr(PLACEHOLDER_SECRET), validation_alias="INTERNAL_API_TOKEN"
    )
    public_base_url: str = Field("http://localhost:3001", validation_alias="PUBLIC_BASE_URL")
    store_currency: str = Field("USD", validation_alias="STORE_CURRENCY")

    auth_url: str = Field("http://127.0.0.1:3002", validation_alias="AUTH_URL")
    product_url: str = Field("http://127.0.0.1:3003", validation_alias="PRODUCT_URL")
    cart_url: str = Field("http://127.0.0.1:3004", validation_alias="CART_URL")
    order_url: str = Field("http://127.0.0.1:3005", validation_alias="ORDER_URL")
    notification_url: str = Field("http://127.0.0.1:3006", validation_alias="NOTIFICATION_URL")

    jwt_issuer: str = Field("empora-auth", validation_alias="JWT_ISSUER")
    jwt_audience: str = Field("empora", validation_alias="JWT_AUDIENCE")

    # Run the outbox relay and event consumers inside the web process.
    run_workers: bool = Field(True, validation_alias="EMPORA_RUN_WORKERS")
    outbox_poll_interval: float = Field(1.0, validation_alias="OUTBOX_POLL_INTERVAL")
    outbox_retention_hours: int = Field(72, validation_alias="OUTBOX_RETENTION_HOURS")
    inbox_retention_hours: int = Field(24 * 14, validation_alias="INBOX_RETENTION_HOURS")
    consumer_delivery_limit: int = Field(5, validation_alias="CONSUMER_DELIVERY_LIMIT")
    health_check_timeout: float = Field(1.0, validation_alias="HEALTH_CHECK_TIMEOUT")
    max_body_bytes: int = Field(1_048_576, validation_alias="MAX_BODY_BYTES")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if (
            self.environment == "production"
            and self.internal_api_token.get_secret_value() == PLACEHOLDER_SECRET
        ):
            raise ValueError("INTERNAL_API_TOKEN must be set in production")
        return self

    @property
    def schema_name(self) -> str:
        """The PostgreSQL schema this service owns."""
        return self.service_name
