"""Emailed-link routes: verify-email, resend-verification, forgot- and reset-password."""

from __future__ import annotations

from fastapi import APIRouter, status

from empora_auth.links import service as link_service
from empora_auth.links.schemas import Accepted, ForgotPasswordIn, ResetPasswordIn, VerifyEmailIn
from empora_auth.runtime import Runtime
from empora_auth.throttling.dependencies import SignupLimit
from empora_auth.users.dependencies import CurrentAccount
from empora_auth.users.schemas import UserOut
from empora_common.db import SessionDep

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/verify-email", summary="Verify an email address")
async def verify_email(data: VerifyEmailIn, session: SessionDep, runtime: Runtime) -> UserOut:
    """Use a verification token; invalid, used or expired → 400."""
    user = await link_service.verify_email(session, runtime, data.token)
    await session.flush()
    return UserOut.model_validate(user)


@router.post(
    "/resend-verification",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the verification email again",
)
async def resend_verification(
    user: CurrentAccount, session: SessionDep, runtime: Runtime, _limit: None = SignupLimit
) -> Accepted:
    """A new verification email (none when the address is already verified)."""
    await link_service.resend_verification(session, runtime, user)
    return Accepted(message="If the address still needs verifying, an email is on its way")


@router.post(
    "/forgot-password", status_code=status.HTTP_202_ACCEPTED, summary="Ask for a reset link"
)
async def forgot_password(
    data: ForgotPasswordIn, session: SessionDep, runtime: Runtime, _limit: None = SignupLimit
) -> Accepted:
    """Always 202; a reset email goes out only if the account exists."""
    await link_service.request_reset(session, runtime, data.email)
    return Accepted(message="If an account exists for this address, a reset email is on its way")


@router.post("/reset-password", summary="Set a new password with a reset token")
async def reset_password(data: ResetPasswordIn, session: SessionDep, runtime: Runtime) -> UserOut:
    """Use a reset token; every session of the user is revoked. Invalid token → 400."""
    user = await link_service.reset_password(session, runtime, data.token, data.new_password)
    await session.flush()
    return UserOut.model_validate(user)
