"""Request dependencies: the client IP and the per-IP sign-up bucket."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from empora_auth.runtime import Runtime
from empora_auth.throttling.client_ip import resolve_client_ip


async def client_ip(request: Request, runtime: Runtime) -> str:
    """The caller's IP (X-Forwarded-For only from a trusted proxy)."""
    peer = request.client.host if request.client else None
    forwarded = ",".join(request.headers.getlist("x-forwarded-for")) or None
    return resolve_client_ip(peer, forwarded, runtime.trusted_proxies)


ClientIP = Annotated[str, Depends(client_ip)]


async def signup_limit(runtime: Runtime, ip: ClientIP) -> None:
    """Count the request in the IP's register/forgot/resend bucket; 429 past the limit."""
    await runtime.throttle.hit_signup(ip)


SignupLimit = Depends(signup_limit)
