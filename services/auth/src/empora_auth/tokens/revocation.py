"""Cutting a user's access: refresh families, and the "valid after" time for access tokens."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import structlog
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from empora_auth.runtime import AuthRuntime
from empora_auth.tokens import repository as token_repository
from empora_auth.users.models import User
from empora_common.security import valid_after_key

log = structlog.get_logger("empora.auth.revocation")

# Kept a little longer than an access token lives, so every token issued before it expires.
VALID_AFTER_MARGIN = 60


async def cut_access_tokens(runtime: AuthRuntime, user: User) -> None:
    """Void every access token issued so far: on the row (checked here) and in Redis (others).

    The time is the next whole second, so a token issued in this very second is void too;
    new tokens are never issued before it (see ``tokens.service``).
    """
    valid_after = max(int(user.valid_after or 0), int(time.time()) + 1)
    user.valid_after = valid_after
    try:
        await runtime.redis.set(
            valid_after_key(runtime.settings.redis_prefix, str(user.id)),
            valid_after,
            ex=runtime.settings.access_token_ttl + VALID_AFTER_MARGIN,
        )
    except (RedisError, OSError) as exc:
        # The auth service still refuses the tokens (it checks the row); others cannot tell.
        log.error("valid_after_not_published", user_id=str(user.id), error=str(exc))
    runtime.verifier.forget_user(str(user.id))


async def revoke_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, reason: str, keep: uuid.UUID | None = None
) -> int:
    """Revoke the user's refresh-token families (all, or all but ``keep``)."""
    return await token_repository.revoke_user_families(
        session, user_id, reason=reason, now=datetime.now(UTC), keep=keep
    )


async def lock_out(session: AsyncSession, runtime: AuthRuntime, user: User, *, reason: str) -> None:
    """Revoke every session and every access token of a user at once."""
    await revoke_sessions(session, user.id, reason=reason)
    await cut_access_tokens(runtime, user)
