"""The auth service: accounts, passwords, tokens and signing keys."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from empora_auth.admin import admin_ready_check
from empora_auth.keys import router as keys_router
from empora_auth.keys.service import KeyRing
from empora_auth.keys.verifier import KeyRingVerifier
from empora_auth.links import router as links_router
from empora_auth.maintenance import purge_loop
from empora_auth.orm import inbox, outbox
from empora_auth.passwords.hashing import PasswordHasher
from empora_auth.runtime import AuthRuntime
from empora_auth.settings import AuthSettings
from empora_auth.throttling.client_ip import parse_trusted
from empora_auth.throttling.limits import Throttle
from empora_auth.tokens import router as tokens_router
from empora_auth.users import router as users_router
from empora_common.app import ServiceSpec, create_service_app
from empora_common.security import TokenVerifier


async def _start(state: dict[str, Any]) -> None:
    settings: AuthSettings = state["settings"]
    shared: TokenVerifier = state["token_verifier"]
    keyring = KeyRing(settings, state["engine"])
    await keyring.start()
    # Our own tokens are checked with the shared verifier, fed by the key ring (never HTTP).
    verifier = KeyRingVerifier(
        jwks_url=shared.jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        redis=state["redis"],
        redis_prefix=settings.redis_prefix,
        keyring=keyring,
    )
    keyring.subscribe(verifier.load_jwks)
    state["token_verifier"] = verifier
    state["auth"] = AuthRuntime(
        settings=settings,
        keyring=keyring,
        verifier=verifier,
        hasher=PasswordHasher.from_settings(settings),
        throttle=Throttle(state["redis"], settings.redis_prefix, settings),
        redis=state["redis"],
        engine=state["engine"],
        trusted_proxies=parse_trusted(settings.trusted_proxies),
    )


async def _stop(state: dict[str, Any]) -> None:
    runtime: AuthRuntime | None = state.get("auth")
    if runtime is not None:
        runtime.hasher.close()
        await runtime.verifier.close()


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    """The auth service's ASGI app (``uvicorn empora_auth.app:create_app --factory``)."""
    settings = settings or AuthSettings()
    parse_trusted(settings.trusted_proxies)  # refuse a bad TRUSTED_PROXIES before serving
    spec = ServiceSpec(
        settings=settings,
        title="Empora auth",
        description="Accounts, passwords, access and refresh tokens, signing keys (JWKS).",
        routers=[
            users_router.auth_router,
            tokens_router.router,
            links_router.router,
            keys_router.router,
            users_router.admin_router,
        ],
        outbox=outbox,
        inbox=inbox,
        background=[purge_loop],
        on_startup=_start,
        on_shutdown=_stop,
        ready_check=admin_ready_check,
        openapi_tags=[
            {"name": "auth", "description": "Sign-up, sign-in, tokens and profile"},
            {"name": "users", "description": "Administration of accounts (admin)"},
        ],
    )
    return create_service_app(spec)
