"""What the notification routes return."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from empora_notification.notifications.models import Notification

StatusFilter = Literal["pending", "sent", "failed"]


class NotificationOut(BaseModel):
    """An email as its recipient sees it in the list."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str
    channel: Literal["email"] = "email"
    to: str = Field(description="the recipient's address")
    subject: str
    status: StatusFilter
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationOut:
        """The public view of a row."""
        return cls(
            id=row.id,
            type=row.type,
            to=row.recipient,
            subject=row.subject,
            status=row.status,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )


class NotificationAdminOut(NotificationOut):
    """The list as an administrator sees it: plus delivery details (errors may name hosts)."""

    user_id: uuid.UUID | None
    event_id: uuid.UUID
    event_type: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, row: Notification) -> NotificationAdminOut:
        """The administrator's view of a row."""
        return cls(
            **NotificationOut.of(row).model_dump(),
            user_id=row.user_id,
            event_id=row.event_id,
            event_type=row.event_type,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
            last_error=row.last_error,
        )
