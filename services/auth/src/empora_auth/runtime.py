"""What the auth service builds at start-up and its routes use, as one typed object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from empora_auth.keys.service import KeyRing
from empora_auth.keys.verifier import KeyRingVerifier
from empora_auth.passwords.hashing import PasswordHasher
from empora_auth.settings import AuthSettings
from empora_auth.throttling.client_ip import IPNetwork
from empora_auth.throttling.limits import Throttle


@dataclass(frozen=True)
class AuthRuntime:
    """Settings, keys, hasher, throttle and Redis of one running service."""

    settings: AuthSettings
    keyring: KeyRing
    verifier: KeyRingVerifier
    hasher: PasswordHasher
    throttle: Throttle
    redis: Redis
    # For the few writes that must commit even when the request fails (refresh reuse).
    engine: AsyncEngine
    trusted_proxies: tuple[IPNetwork, ...]


async def get_runtime(request: Request) -> AuthRuntime:
    """The runtime the lifespan stored in the app state."""
    runtime: AuthRuntime = request.state.auth
    return runtime


Runtime = Annotated[AuthRuntime, Depends(get_runtime)]
