"""The administrator account of a deployment: ``empora up`` / ``empora create-admin`` call
``ensure_admin``; the health check waits for it when ``EMPORA_ADMIN_EMAIL`` is set."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import exists, select

from empora_auth.passwords.hashing import PasswordHasher
from empora_auth.passwords.policy import MAX_LENGTH, MIN_LENGTH
from empora_auth.settings import AuthSettings
from empora_auth.tokens import revocation
from empora_auth.users import repository as user_repository
from empora_auth.users.models import User
from empora_common.constants import Role
from empora_common.db import create_engine, create_sessionmaker
from empora_common.identifiers import normalize_email
from empora_common.security import valid_after_key


async def ensure_admin(settings: AuthSettings, email: str, password: str) -> uuid.UUID:
    """Make sure ``email`` is an active, verified admin that signs in with ``password``.

    Idempotent. Creates the account if needed; on an existing one it adds the admin role,
    marks it verified and active, and sets the password only when it differs (which then, like
    a reset, revokes the account's sessions). It never removes a role. The operator chose the
    password, so the common-password list is not applied, but the length rule is.
    """
    address = normalize_email(email)
    if "@" not in address:
        raise ValueError("The admin email must be an email address")
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValueError(f"The admin password must be {MIN_LENGTH}..{MAX_LENGTH} characters long")
    hasher = PasswordHasher.from_settings(settings.model_copy(update={"argon2_workers": 1}))
    engine = create_engine(settings.database_url, pool_size=1, application_name="empora-auth-cli")
    revoked_user: uuid.UUID | None = None
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            user = await user_repository.get_by_email(session, address)
            if user is None:
                user = User(
                    id=uuid.uuid4(),
                    email=address,
                    password_hash=await asyncio.to_thread(hasher.hash_sync, password),
                    roles=[Role.CUSTOMER.value, Role.ADMIN.value],
                    email_verified=True,
                    is_active=True,
                    valid_after=0,
                )
                await user_repository.add(session, user)
            else:
                if Role.ADMIN.value not in user.roles:
                    user.roles = [*user.roles, Role.ADMIN.value]
                user.email_verified = True
                user.is_active = True
                matches = await asyncio.to_thread(hasher.verify_sync, user.password_hash, password)
                if not matches:
                    user.password_hash = await asyncio.to_thread(hasher.hash_sync, password)
                    await revocation.revoke_sessions(session, user.id, reason="admin_password_set")
                    user.valid_after = max(int(user.valid_after or 0), int(time.time()) + 1)
                    revoked_user = user.id
            user_id = user.id
            valid_after = int(user.valid_after or 0)
    finally:
        await engine.dispose()
        hasher.close()
    if revoked_user is not None:
        await _publish_valid_after(settings, revoked_user, valid_after)
    return user_id


async def _publish_valid_after(settings: AuthSettings, user_id: uuid.UUID, value: int) -> None:
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await redis.set(
            valid_after_key(settings.redis_prefix, str(user_id)),
            value,
            ex=settings.access_token_ttl + revocation.VALID_AFTER_MARGIN,
        )
    except (RedisError, OSError):
        pass  # the auth service still refuses older tokens: it checks the row
    finally:
        await redis.aclose()


async def admin_ready_check(state: Any) -> str | None:
    """Why the service is not set up yet: the configured admin account is missing."""
    settings: AuthSettings = state.settings
    if not settings.admin_email:
        return None
    address = normalize_email(settings.admin_email)
    query = select(
        exists().where(
            User.email == address,
            User.deleted_at.is_(None),
            User.is_active.is_(True),
            User.roles.contains([Role.ADMIN.value]),
        )
    )
    async with state.engine.connect() as conn:
        present = bool((await conn.execute(query)).scalar_one())
    return None if present else f"admin account {address} does not exist yet"
