"""``/api/auth/login``, ``/refresh`` and ``/logout``."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from empora_auth.runtime import Runtime
from empora_auth.throttling.dependencies import ClientIP
from empora_auth.tokens import service as token_service
from empora_auth.tokens.schemas import LoginIn, RefreshIn, TokenPair
from empora_auth.users.dependencies import CurrentAccount
from empora_common.db import SessionDep

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", summary="Sign in")
async def login(data: LoginIn, session: SessionDep, runtime: Runtime, ip: ClientIP) -> TokenPair:
    """An access and a refresh token; one 401 for any wrong email or password."""
    return await token_service.login(
        session, runtime, email=data.email, password=data.password, client_ip=ip
    )


@router.post("/refresh", summary="Rotate a refresh token")
async def refresh(data: RefreshIn, session: SessionDep, runtime: Runtime) -> TokenPair:
    """A new token pair; the refresh token presented is used up (reuse revokes the session)."""
    return await token_service.refresh(session, runtime, data.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out")
async def logout(data: RefreshIn, user: CurrentAccount, session: SessionDep) -> Response:
    """Revoke the session (refresh-token family) of the given refresh token."""
    await token_service.logout(session, user, data.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
