"""The notification table: one row per email, with its delivery state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from empora_notification.database import Base


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notification(Base):
    """An email to send (``pending``), sent (``sent``) or given up on (``failed``)."""

    __tablename__ = "notification"
    # Server-side defaults (timestamps) come back with the INSERT/UPDATE, never lazily.
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        sa.CheckConstraint("channel IN ('email')", name="channel"),
        # The sender's queue: only pending rows, in due order.
        sa.Index(
            "ix_notification_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_notification_created_at_id", "created_at", "id"),
        sa.Index("ix_notification_user_id", "user_id"),
        sa.Index("ix_notification_recipient_lower", sa.text("lower(recipient)")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # The event this email answers: one email per event, whatever the broker redelivers.
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    event_type: Mapped[str] = mapped_column(sa.Text)
    type: Mapped[str] = mapped_column(sa.Text)
    channel: Mapped[str] = mapped_column(sa.Text, server_default="email")
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recipient: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.Text)
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    # Kept across retries so a receiving server can tell a re-sent copy from a new email.
    message_id: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default=NotificationStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
