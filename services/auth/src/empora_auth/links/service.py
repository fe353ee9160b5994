"""Emailed links: email verification (24 h) and password reset (1 h), single-use.

Links are built from ``PUBLIC_BASE_URL``, never from the request's Host header, and the
emails go out through the outbox (the notification service sends them).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from empora_auth.links import repository as link_repository
from empora_auth.links.errors import InvalidLinkToken
from empora_auth.links.models import Purpose
from empora_auth.orm import outbox
from empora_auth.passwords.policy import check_password
from empora_auth.runtime import AuthRuntime
from empora_auth.settings import AuthSettings
from empora_auth.tokens.revocation import lock_out
from empora_auth.tokens.service import hash_token
from empora_auth.users import repository as user_repository
from empora_auth.users.models import User
from empora_common.messaging.outbox import add_event
from empora_contracts.events import (
    UserPasswordResetRequested,
    UserRegistered,
    UserVerificationRequested,
)

log = structlog.get_logger("empora.auth.links")

LINK_TOKEN_BYTES = 32
VerificationEvent = Literal["user.registered", "user.verification_requested"]


def new_link_token() -> tuple[str, bytes]:
    """A URL-safe (base64url) token and the hash we store."""
    raw = secrets.token_urlsafe(LINK_TOKEN_BYTES)
    return raw, hash_token(raw)


def link_url(settings: AuthSettings, page: str, token: str) -> str:
    """``{PUBLIC_BASE_URL}/<page>?token=<token>``."""
    return f"{settings.public_base_url.rstrip('/')}/{page}?token={quote(token, safe='')}"


async def send_verification(
    session: AsyncSession, runtime: AuthRuntime, user: User, *, event: VerificationEvent
) -> str:
    """Create a verification token and write the event carrying its link; returns the token."""
    settings = runtime.settings
    now = datetime.now(UTC)
    raw, digest = new_link_token()
    await link_repository.create(
        session,
        user_id=user.id,
        purpose=Purpose.VERIFY_EMAIL,
        token_hash=digest,
        now=now,
        expires_at=now + timedelta(seconds=settings.verification_token_ttl),
    )
    url = link_url(settings, "verify-email", raw)
    payload = (UserRegistered if event == "user.registered" else UserVerificationRequested)(
        user_id=str(user.id), email=user.email, first_name=user.first_name, verification_url=url
    )
    await add_event(session, outbox, event, payload.data(), aggregate_id=user.id)
    return raw


async def resend_verification(session: AsyncSession, runtime: AuthRuntime, user: User) -> None:
    """A new verification email, unless the address is verified or its email budget is spent."""
    if user.email_verified:
        return
    if not await runtime.throttle.allow_email(str(user.id)):
        log.info("verification_email_suppressed", user_id=str(user.id))
        return
    await send_verification(session, runtime, user, event="user.verification_requested")


async def verify_email(session: AsyncSession, runtime: AuthRuntime, token: str) -> User:
    """Mark the address verified; the token (and every other one of the user) is used up."""
    now = datetime.now(UTC)
    found = await link_repository.find_usable(
        session, token_hash=hash_token(token), purpose=Purpose.VERIFY_EMAIL, now=now
    )
    user = await user_repository.get(session, found[1]) if found else None
    if found is None or user is None or not await link_repository.consume(session, found[0], now):
        raise InvalidLinkToken("The verification link is invalid, used or expired")
    user.email_verified = True
    await link_repository.consume_all(
        session, user_id=user.id, purpose=Purpose.VERIFY_EMAIL, now=now
    )
    return user


async def request_reset(session: AsyncSession, runtime: AuthRuntime, email: str) -> None:
    """Send a reset link if the account exists (the caller answers 202 either way)."""
    user = await user_repository.get_by_email(session, email)
    if user is None or not user.is_active:
        return
    if not await runtime.throttle.allow_email(str(user.id)):
        log.info("reset_email_suppressed", user_id=str(user.id))
        return
    now = datetime.now(UTC)
    raw, digest = new_link_token()
    await link_repository.create(
        session,
        user_id=user.id,
        purpose=Purpose.RESET_PASSWORD,
        token_hash=digest,
        now=now,
        expires_at=now + timedelta(seconds=runtime.settings.reset_token_ttl),
    )
    payload = UserPasswordResetRequested(
        user_id=str(user.id),
        email=user.email,
        first_name=user.first_name,
        reset_url=link_url(runtime.settings, "reset-password", raw),
    )
    await add_event(
        session, outbox, "user.password_reset_requested", payload.data(), aggregate_id=user.id
    )


async def reset_password(
    session: AsyncSession, runtime: AuthRuntime, token: str, new_password: str
) -> User:
    """Set a new password with a reset token; every session and access token is revoked."""
    now = datetime.now(UTC)
    found = await link_repository.find_usable(
        session, token_hash=hash_token(token), purpose=Purpose.RESET_PASSWORD, now=now
    )
    user = await user_repository.get(session, found[1]) if found else None
    if found is None or user is None or not user.is_active:
        raise InvalidLinkToken("The reset link is invalid, used or expired")
    # Checked before the token is used up, so a refused password leaves the link usable.
    check_password(new_password, email=user.email, field="new_password")
    if not await link_repository.consume(session, found[0], now):
        raise InvalidLinkToken("The reset link is invalid, used or expired")
    user.password_hash = await runtime.hasher.hash(new_password)
    # Following the link proved the address is the user's.
    user.email_verified = True
    await link_repository.consume_all(
        session, user_id=user.id, purpose=Purpose.RESET_PASSWORD, now=now
    )
    await lock_out(session, runtime, user, reason="password_reset")
    await runtime.throttle.clear_account(user.email)
    return user
