"""HTTP routes of accounts: sign-up and profile (``/api/auth``), administration (``/api/users``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from empora_auth.runtime import Runtime
from empora_auth.throttling.dependencies import ClientIP, SignupLimit
from empora_auth.users import repository as user_repository
from empora_auth.users import service as user_service
from empora_auth.users.dependencies import (
    AdminAccount,
    CurrentAccount,
    CurrentSessionId,
    TargetUser,
)
from empora_auth.users.schemas import (
    AdminUserPatch,
    ChangePasswordIn,
    ProfilePatch,
    RegisterIn,
    UserOut,
)
from empora_common.db import SessionDep
from empora_common.pagination import Page, Pagination
from empora_common.text import check_query_text

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])
admin_router = APIRouter(prefix="/api/users", tags=["users"])


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    dependencies=[SignupLimit],
    summary="Create an account",
)
async def register(data: RegisterIn, session: SessionDep, runtime: Runtime) -> UserOut:
    """Create a customer account; a verification email is sent."""
    user = await user_service.register(session, runtime, data)
    return UserOut.model_validate(user)


@auth_router.get("/me", summary="The caller's profile")
async def get_me(user: CurrentAccount) -> UserOut:
    """The caller's account."""
    return UserOut.model_validate(user)


@auth_router.patch("/me", summary="Update the caller's profile")
async def patch_me(patch: ProfilePatch, user: CurrentAccount, session: SessionDep) -> UserOut:
    """Change first and last name; any other field is refused (422)."""
    user_service.update_profile(user, patch)
    await session.flush()
    return UserOut.model_validate(user)


@auth_router.post(
    "/change-password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change the caller's password",
)
async def change_password(
    data: ChangePasswordIn,
    user: CurrentAccount,
    keep: CurrentSessionId,
    session: SessionDep,
    runtime: Runtime,
    ip: ClientIP,
) -> Response:
    """Set a new password; the caller's other sessions are revoked."""
    await user_service.change_password(
        session, runtime, user, data, keep_session=keep, client_ip=ip
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get("", summary="List users (admin)")
async def list_users(
    _admin: AdminAccount,
    session: SessionDep,
    page: Pagination,
    q: Annotated[str | None, Query(max_length=200, description="search email and name")] = None,
) -> Page[UserOut]:
    """Users, newest first; ``q`` matches email, first or last name."""
    check_query_text(q=q)
    users, total = await user_repository.search(session, page, (q or "").strip() or None)
    return Page[UserOut].build([UserOut.model_validate(u) for u in users], page, total)


@admin_router.get("/{user_id}", summary="One user (admin)")
async def get_user(user: TargetUser) -> UserOut:
    """A user by id; deleted users are 404."""
    return UserOut.model_validate(user)


@admin_router.patch("/{user_id}", summary="Change roles or deactivate (admin)")
async def patch_user(
    patch: AdminUserPatch,
    user: TargetUser,
    admin: AdminAccount,
    session: SessionDep,
    runtime: Runtime,
) -> UserOut:
    """Set ``roles`` and/or ``is_active``; deactivating revokes the user's sessions at once."""
    await user_service.admin_update(session, runtime, actor=admin, user=user, patch=patch)
    await session.flush()
    return UserOut.model_validate(user)


@admin_router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a user (admin)"
)
async def delete_user(
    user: TargetUser, admin: AdminAccount, session: SessionDep, runtime: Runtime
) -> Response:
    """Soft-delete: the user is gone from the API and cannot sign in; sessions are revoked."""
    await user_service.admin_delete(session, runtime, actor=admin, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
