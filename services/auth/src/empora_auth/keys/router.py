"""``GET /api/auth/.well-known/jwks.json``: the public signing keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from empora_auth.runtime import Runtime

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.get("/.well-known/jwks.json", summary="Public signing keys (JWKS)")
async def jwks(runtime: Runtime, response: Response) -> dict[str, Any]:
    """The current and next public keys (and retiring ones whose tokens may still be live)."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return await runtime.keyring.fresh_jwks()
