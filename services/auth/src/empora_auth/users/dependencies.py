"""Who is calling, checked against the account itself (not only the token)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from empora_auth.tokens.access import session_id
from empora_auth.users import repository as user_repository
from empora_auth.users.errors import UserNotFound
from empora_auth.users.models import User
from empora_common.constants import Role
from empora_common.db import SessionDep
from empora_common.security import AdminRequired, CurrentUser, InvalidToken, bearer_token


async def current_account(principal: CurrentUser, session: SessionDep) -> User:
    """The caller's account. Its token must postdate the account's "valid after" time, and
    the account must still exist and be active: revocations take effect here at once."""
    user = await user_repository.get(session, principal.user_id)
    if user is None or not user.is_active or principal.issued_at < int(user.valid_after or 0):
        raise InvalidToken("The token has been revoked")
    return user


CurrentAccount = Annotated[User, Depends(current_account)]


async def admin_account(principal: CurrentUser, user: CurrentAccount) -> User:
    """The caller, who must be an administrator (by token and by account)."""
    if not principal.is_admin or Role.ADMIN not in user.roles:
        raise AdminRequired("This route needs the admin role")
    return user


AdminAccount = Annotated[User, Depends(admin_account)]


async def target_user(user_id: uuid.UUID, _admin: AdminAccount, session: SessionDep) -> User:
    """The account an admin route is about; deleted accounts are gone (404)."""
    user = await user_repository.get(session, user_id)
    if user is None:
        raise UserNotFound(f"No user {user_id}")
    return user


TargetUser = Annotated[User, Depends(target_user)]


async def current_session_id(request: Request, _user: CurrentAccount) -> uuid.UUID | None:
    """The refresh-token family the caller's (already verified) access token came from."""
    token = bearer_token(request)
    return session_id(token) if token else None


CurrentSessionId = Annotated[uuid.UUID | None, Depends(current_session_id)]
