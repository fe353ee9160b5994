"""Settings of the auth service (see services/auth/README.md for every environment name)."""

from __future__ import annotations

import os

from pydantic import Field, SecretStr

from empora_common.settings import ServiceSettings

# OWASP's Argon2id recommendation: m=19 MiB, t=2, p=1.
OWASP_ARGON2_MEMORY_KIB = 19_456
OWASP_ARGON2_TIME_COST = 2
OWASP_ARGON2_PARALLELISM = 1


def _default_workers() -> int:
    # One core fewer than the machine has: a flood of logins (Argon2 is ~20 ms of CPU each)
    # must not starve the event loops of this and the neighbouring services.
    return max(1, (os.cpu_count() or 1) - 1)


class AuthSettings(ServiceSettings):
    """Configuration of the auth service."""

    service_name: str = "auth"
    port: int = Field(3002, validation_alias="AUTH_PORT")

    # --- tokens -------------------------------------------------------------------------
    access_token_ttl: int = Field(900, ge=60, validation_alias="ACCESS_TOKEN_TTL")
    refresh_token_ttl: int = Field(30 * 86_400, ge=300, validation_alias="REFRESH_TOKEN_TTL")
    verification_token_ttl: int = Field(86_400, ge=60, validation_alias="VERIFICATION_TOKEN_TTL")
    reset_token_ttl: int = Field(3_600, ge=60, validation_alias="RESET_TOKEN_TTL")

    # --- signing keys -------------------------------------------------------------------
    # A PEM RSA private key; without it keys are generated into the database on first start.
    jwt_private_key: SecretStr | None = Field(None, validation_alias="JWT_PRIVATE_KEY")
    # A rotated-in key starts signing only this long after it was first published in JWKS.
    key_publish_delay: int = Field(120, ge=0, validation_alias="JWT_KEY_PUBLISH_DELAY")
    # How often an instance re-reads the keys (to notice a rotation made elsewhere).
    key_reload_interval: int = Field(30, ge=1, validation_alias="JWT_KEY_RELOAD_INTERVAL")
    # A retired key stays in JWKS for the access-token lifetime plus this margin.
    key_retention_grace: int = Field(300, ge=0, validation_alias="JWT_KEY_RETENTION_GRACE")
    jwt_key_size: int = Field(2048, ge=2048, validation_alias="JWT_KEY_SIZE")

    # --- passwords ----------------------------------------------------------------------
    argon2_memory_cost: int = Field(
        OWASP_ARGON2_MEMORY_KIB, ge=8, validation_alias="ARGON2_MEMORY_COST"
    )
    argon2_time_cost: int = Field(OWASP_ARGON2_TIME_COST, ge=1, validation_alias="ARGON2_TIME_COST")
    argon2_parallelism: int = Field(
        OWASP_ARGON2_PARALLELISM, ge=1, validation_alias="ARGON2_PARALLELISM"
    )
    argon2_workers: int = Field(
        default_factory=_default_workers, ge=1, validation_alias="ARGON2_WORKERS"
    )
    # The hashing threads' CPU priority below the rest (Linux nice, added to the process's):
    # under a login flood the other services' event loops get the CPU first.
    argon2_nice: int = Field(10, ge=0, le=19, validation_alias="ARGON2_NICE")

    # --- throttling (see empora_auth.throttling.limits) ---------------------------------
    login_account_limit: int = Field(10, ge=1, validation_alias="RATE_LIMIT_LOGIN_ACCOUNT")
    login_account_window: int = Field(900, ge=1, validation_alias="RATE_LIMIT_LOGIN_ACCOUNT_WINDOW")
    login_ip_limit: int = Field(100, ge=1, validation_alias="RATE_LIMIT_LOGIN_IP")
    login_ip_window: int = Field(900, ge=1, validation_alias="RATE_LIMIT_LOGIN_IP_WINDOW")
    signup_ip_limit: int = Field(60, ge=1, validation_alias="RATE_LIMIT_SIGNUP_IP")
    signup_ip_window: int = Field(60, ge=1, validation_alias="RATE_LIMIT_SIGNUP_IP_WINDOW")
    email_account_limit: int = Field(5, ge=1, validation_alias="RATE_LIMIT_EMAIL_ACCOUNT")
    email_account_window: int = Field(
        3_600, ge=1, validation_alias="RATE_LIMIT_EMAIL_ACCOUNT_WINDOW"
    )
    trusted_proxies: str = Field("127.0.0.1,::1", validation_alias="TRUSTED_PROXIES")

    # --- set-up -------------------------------------------------------------------------
    # When set, health is not ``ok`` until this admin account exists.
    admin_email: str | None = Field(None, validation_alias="EMPORA_ADMIN_EMAIL")
    # How often expired refresh and one-time tokens are purged (seconds).
    purge_interval: int = Field(3_600, ge=1, validation_alias="AUTH_PURGE_INTERVAL")
