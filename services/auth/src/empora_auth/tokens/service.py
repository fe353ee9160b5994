"""Logins, refresh-token rotation with reuse detection, and logout."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from empora_auth.runtime import AuthRuntime
from empora_auth.tokens import access
from empora_auth.tokens import repository as token_repository
from empora_auth.tokens.access import TokenSubject
from empora_auth.tokens.errors import InvalidCredentials, InvalidRefreshToken
from empora_auth.tokens.schemas import TokenPair
from empora_auth.users import repository as user_repository
from empora_auth.users.models import User
from empora_auth.users.schemas import canonical_email

log = structlog.get_logger("empora.auth.tokens")

REFRESH_TOKEN_BYTES = 32  # 256 bits of entropy, base64url-encoded
# A token is never issued before the user's "valid after" second; waiting for it is at most
# about a second (it is set to the next whole second when access is cut).
_MAX_VALID_AFTER_WAIT = 2.0


def new_refresh_token() -> tuple[str, bytes]:
    """A new opaque refresh token and the hash we store."""
    raw = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    return raw, hash_token(raw)


def hash_token(raw: str) -> bytes:
    """SHA-256 of a token (tokens have 256 bits of entropy: no salt or slow hash needed)."""
    return hashlib.sha256(raw.encode("utf-8")).digest()


async def _issue_access_token(
    runtime: AuthRuntime, user: TokenSubject, family_id: uuid.UUID
) -> str:
    wait = int(user.valid_after or 0) - time.time()
    if wait > 0:
        await asyncio.sleep(min(wait, _MAX_VALID_AFTER_WAIT))
    issued_at = max(int(time.time()), int(user.valid_after or 0))
    key = await runtime.keyring.signing_key()
    claims = access.access_claims(
        user, settings=runtime.settings, issued_at=issued_at, family_id=family_id
    )
    return access.encode(claims, key)


async def start_session(
    session: AsyncSession, runtime: AuthRuntime, user: TokenSubject
) -> TokenPair:
    """A new refresh-token family for ``user`` and the first token pair."""
    now = datetime.now(UTC)
    raw, digest = new_refresh_token()
    family_id = await token_repository.start_family(
        session,
        user_id=user.id,
        token_hash=digest,
        now=now,
        expires_at=now + timedelta(seconds=runtime.settings.refresh_token_ttl),
    )
    return TokenPair(
        access_token=await _issue_access_token(runtime, user, family_id),
        refresh_token=raw,
        expires_in=runtime.settings.access_token_ttl,
    )


async def login(
    session: AsyncSession, runtime: AuthRuntime, *, email: str, password: str, client_ip: str
) -> TokenPair:
    """Check the credentials and start a session; one 401 for every kind of failure."""
    email = canonical_email(email)
    allowance = await runtime.throttle.check_login(email, client_ip)
    user = await user_repository.credentials(session, email)
    # An unknown account costs a verification against a dummy hash: same answer, same time.
    matches = await runtime.hasher.verify(user.password_hash if user else None, password)
    if user is None or not matches or not user.is_active:
        await runtime.throttle.login_failed(email, client_ip)
        raise InvalidCredentials("The email or password is not correct")
    if allowance.account_failures:
        await runtime.throttle.clear_account(email)
    if runtime.hasher.needs_rehash(user.password_hash):
        new_hash = await runtime.hasher.hash(password)
        await user_repository.set_password_hash(session, user.id, new_hash)
        log.info("password_rehashed", user_id=str(user.id))
    return await start_session(session, runtime, user)


async def _revoke_family_now(runtime: AuthRuntime, family_id: uuid.UUID, reason: str) -> None:
    # Its own transaction: the request fails (401) and rolls back, the revocation must stay.
    async with runtime.engine.begin() as conn:
        await token_repository.revoke_family(conn, family_id, reason=reason, now=datetime.now(UTC))


async def refresh(session: AsyncSession, runtime: AuthRuntime, raw_token: str) -> TokenPair:
    """Rotate a refresh token: the old one is used up, a new pair is issued.

    Presenting a token that was already used revokes its whole family (it was stolen, or the
    legitimate client's copy was): no grace period.
    """
    now = datetime.now(UTC)
    digest = hash_token(raw_token)
    claimed = await token_repository.claim(session, digest, now)
    if claimed is None:
        known = await token_repository.family_of(session, digest)
        if known is not None:
            family_id, user_id = known
            await _revoke_family_now(runtime, family_id, "reuse")
            log.warning("refresh_token_reused", family_id=str(family_id), user_id=str(user_id))
            raise InvalidRefreshToken("This refresh token was already used; the session is revoked")
        raise InvalidRefreshToken("The refresh token is not valid")
    if claimed.revoked_at is not None or claimed.expires_at <= now:
        raise InvalidRefreshToken("The session has ended; sign in again")
    user = await user_repository.get(session, claimed.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken("The session has ended; sign in again")
    raw, new_digest = new_refresh_token()
    await token_repository.add_token(
        session,
        family_id=claimed.family_id,
        token_hash=new_digest,
        parent_id=claimed.token_id,
        now=now,
    )
    return TokenPair(
        access_token=await _issue_access_token(runtime, user, claimed.family_id),
        refresh_token=raw,
        expires_in=runtime.settings.access_token_ttl,
    )


async def logout(session: AsyncSession, user: User, raw_token: str) -> None:
    """Revoke the family of a refresh token, if it is one of the caller's."""
    known = await token_repository.family_of(session, hash_token(raw_token))
    if known is None or known[1] != user.id:
        return
    await token_repository.revoke_family(session, known[0], reason="logout", now=datetime.now(UTC))
