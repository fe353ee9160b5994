"""Configuration of the notification service."""

from __future__ import annotations

from pydantic import Field, SecretStr

from empora_common.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    """The shared names plus SMTP, the shop's identity in emails and the retry policy."""

    service_name: str = "notification"
    port: int = Field(3006, validation_alias="NOTIFICATION_PORT")

    smtp_host: str = Field("127.0.0.1", validation_alias="SMTP_HOST")
    smtp_port: int = Field(1025, validation_alias="SMTP_PORT")
    smtp_username: SecretStr | None = Field(None, validation_alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, validation_alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(False, validation_alias="SMTP_STARTTLS")
    # Only for servers with a self-signed certificate (a local relay); keep it on otherwise.
    smtp_validate_certs: bool = Field(True, validation_alias="SMTP_VALIDATE_CERTS")
    smtp_timeout: float = Field(10.0, gt=0, validation_alias="SMTP_TIMEOUT")
    smtp_from: str = Field("Empora <no-reply@empora.local>", validation_alias="SMTP_FROM")
    shop_name: str = Field("Empora", validation_alias="SHOP_NAME")

    # Delivery: attempts per email, exponential backoff between them, wake-up fallback.
    send_max_attempts: int = Field(8, ge=1, validation_alias="NOTIFICATION_MAX_ATTEMPTS")
    send_retry_base: float = Field(2.0, gt=0, validation_alias="NOTIFICATION_RETRY_BASE_SECONDS")
    send_retry_max: float = Field(900.0, gt=0, validation_alias="NOTIFICATION_RETRY_MAX_SECONDS")
    send_poll_interval: float = Field(1.0, gt=0, validation_alias="NOTIFICATION_POLL_INTERVAL")
    send_batch_size: int = Field(20, ge=1, le=500, validation_alias="NOTIFICATION_BATCH_SIZE")
