"""Sign-up, profiles, password changes and the administration of accounts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from empora_auth.links import service as link_service
from empora_auth.passwords.policy import check_password
from empora_auth.runtime import AuthRuntime
from empora_auth.tokens.errors import InvalidCredentials
from empora_auth.tokens.revocation import cut_access_tokens, lock_out, revoke_sessions
from empora_auth.users import repository as user_repository
from empora_auth.users.errors import CannotChangeOwnAccess, EmailTaken
from empora_auth.users.models import User
from empora_auth.users.schemas import (
    AdminUserPatch,
    ChangePasswordIn,
    ProfilePatch,
    RegisterIn,
)
from empora_common.constants import Role


async def register(session: AsyncSession, runtime: AuthRuntime, data: RegisterIn) -> User:
    """Create a customer account and send its verification link (through the outbox)."""
    check_password(data.password, email=data.email)
    if await user_repository.email_taken(session, data.email):
        raise EmailTaken("An account with this email already exists")
    user = User(
        id=uuid.uuid4(),
        email=data.email,
        password_hash=await runtime.hasher.hash(data.password),
        first_name=data.first_name,
        last_name=data.last_name,
        roles=[Role.CUSTOMER.value],
        email_verified=False,
        is_active=True,
        valid_after=0,
    )
    try:
        async with session.begin_nested():
            await user_repository.add(session, user)
    except IntegrityError as exc:  # a concurrent sign-up with the same address won
        raise EmailTaken("An account with this email already exists") from exc
    await link_service.send_verification(session, runtime, user, event="user.registered")
    return user


def update_profile(user: User, patch: ProfilePatch) -> User:
    """Apply the given profile fields (only names; everything else is refused upstream)."""
    if "first_name" in patch.model_fields_set:
        user.first_name = patch.first_name
    if "last_name" in patch.model_fields_set:
        user.last_name = patch.last_name
    return user


async def change_password(
    session: AsyncSession,
    runtime: AuthRuntime,
    user: User,
    data: ChangePasswordIn,
    *,
    keep_session: uuid.UUID | None,
    client_ip: str,
) -> None:
    """Replace the password after checking the current one; other sessions are revoked."""
    await runtime.throttle.check_login(user.email, client_ip)
    if not await runtime.hasher.verify(user.password_hash, data.current_password):
        await runtime.throttle.login_failed(user.email, client_ip)
        raise InvalidCredentials("The current password is not correct")
    check_password(data.new_password, email=user.email, field="new_password")
    user.password_hash = await runtime.hasher.hash(data.new_password)
    await revoke_sessions(session, user.id, reason="password_change", keep=keep_session)


async def admin_update(
    session: AsyncSession,
    runtime: AuthRuntime,
    *,
    actor: User,
    user: User,
    patch: AdminUserPatch,
) -> User:
    """Change roles and/or the active flag. Losing a role or being deactivated takes effect
    at once (access tokens void, sessions revoked on deactivation)."""
    fields = patch.model_fields_set
    new_roles = [r.value for r in patch.roles] if patch.roles is not None else None
    deactivating = "is_active" in fields and patch.is_active is False and user.is_active
    if user.id == actor.id and (
        deactivating or (new_roles is not None and Role.ADMIN.value not in new_roles)
    ):
        raise CannotChangeOwnAccess("You cannot remove your own admin role or deactivate yourself")
    if new_roles is not None:
        lost_a_role = bool(set(user.roles) - set(new_roles))
        user.roles = new_roles
        if lost_a_role:
            await cut_access_tokens(runtime, user)
    if "is_active" in fields and patch.is_active is not None:
        user.is_active = patch.is_active
        if deactivating:
            await lock_out(session, runtime, user, reason="deactivated")
    return user


async def admin_delete(
    session: AsyncSession, runtime: AuthRuntime, *, actor: User, user: User
) -> None:
    """Soft-delete an account: it leaves the API, cannot sign in, and its email is free again."""
    if user.id == actor.id:
        raise CannotChangeOwnAccess("You cannot delete your own account here")
    user.deleted_at = datetime.now(UTC)
    user.is_active = False
    await lock_out(session, runtime, user, reason="deleted")
