"""``/api/notifications``: the caller's emails; administrators see all and re-send."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from empora_common.db import SessionDep
from empora_common.pagination import Page, Pagination
from empora_common.security import AdminUser, CurrentUser
from empora_notification.notifications import service as notification_service
from empora_notification.notifications.errors import NotificationNotFound
from empora_notification.notifications.schemas import (
    NotificationAdminOut,
    NotificationOut,
    StatusFilter,
)

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


def _notification_id(raw: str) -> uuid.UUID:
    # A malformed id names no notification: 404 like an unknown one, not 422.
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise NotificationNotFound("No such notification") from exc


@router.get(
    "",
    response_model=Page[NotificationAdminOut] | Page[NotificationOut],
    summary="The emails sent to the caller (all emails for an administrator), newest first",
)
async def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    pagination: Pagination,
    status: Annotated[StatusFilter | None, Query(description="only this status")] = None,
) -> Page[NotificationOut] | Page[NotificationAdminOut]:
    return await notification_service.list_notifications(session, user, pagination, status)


@router.get(
    "/{notification_id}",
    response_model=NotificationAdminOut | NotificationOut,
    summary="One email of the caller (any email for an administrator)",
)
async def get_notification(
    notification_id: str, user: CurrentUser, session: SessionDep
) -> NotificationOut:
    return await notification_service.get_notification(
        session, user, _notification_id(notification_id)
    )


@router.post(
    "/{notification_id}/resend",
    response_model=NotificationAdminOut,
    summary="Re-send a failed email (administrators): it goes back to pending",
)
async def resend_notification(
    notification_id: str, _admin: AdminUser, session: SessionDep
) -> NotificationAdminOut:
    return await notification_service.resend(session, _notification_id(notification_id))
