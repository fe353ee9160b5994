"""All SQL of the notification table."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from empora_notification.notifications.models import Notification, NotificationStatus

# LISTEN/NOTIFY channel that wakes the sender when a row becomes due; delivered on commit.
PENDING_CHANNEL = "notification_pending"


async def add_once(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert a row unless one exists for the same event; the new id, or None."""
    result = await session.execute(
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Notification.event_id])
        .returning(Notification.id)
    )
    return result.scalar_one_or_none()


async def notify_pending(session: AsyncSession) -> None:
    """Wake the sender once the caller's transaction commits (never for a rollback)."""
    await session.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": PENDING_CHANNEL})


async def get(session: AsyncSession, notification_id: uuid.UUID) -> Notification | None:
    """One row by id."""
    return await session.get(Notification, notification_id)


async def get_for_update(session: AsyncSession, notification_id: uuid.UUID) -> Notification | None:
    """One row by id, locked (waits for a sender that holds it)."""
    result = await session.execute(
        sa.select(Notification).where(Notification.id == notification_id).with_for_update()
    )
    return result.scalar_one_or_none()


def visible_to(user_id: uuid.UUID, email: str) -> sa.ColumnElement[bool]:
    """Rows addressed to a user: by the id in the event, or to the token's email address."""
    clauses: list[sa.ColumnElement[bool]] = [Notification.user_id == user_id]
    if email.strip():
        clauses.append(sa.func.lower(Notification.recipient) == email.strip().lower())
    return sa.or_(*clauses)


async def page(
    session: AsyncSession,
    *,
    where: list[sa.ColumnElement[bool]],
    offset: int,
    limit: int,
) -> tuple[list[Notification], int]:
    """Newest first (ties by id), and the total count."""
    total = await session.scalar(sa.select(sa.func.count()).select_from(Notification).where(*where))
    rows = await session.scalars(
        sa.select(Notification)
        .where(*where)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


async def claim_due(session: AsyncSession, limit: int) -> list[Notification]:
    """Pending rows whose time has come, locked; rows another sender holds are skipped."""
    result = await session.scalars(
        sa.select(Notification)
        .where(
            Notification.status == NotificationStatus.PENDING,
            Notification.next_attempt_at <= sa.func.clock_timestamp(),
        )
        .order_by(Notification.next_attempt_at, Notification.created_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result)


async def _update(session: AsyncSession, notification_id: uuid.UUID, **values: object) -> None:
    await session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id)
        .values(updated_at=sa.func.clock_timestamp(), **values)
        .execution_options(synchronize_session=False)
    )


async def mark_sent(session: AsyncSession, notification_id: uuid.UUID) -> None:
    """The server accepted the message."""
    await _update(
        session,
        notification_id,
        status=NotificationStatus.SENT.value,
        attempts=Notification.attempts + 1,
        sent_at=sa.func.clock_timestamp(),
        last_error=None,
    )


async def mark_retry(
    session: AsyncSession, notification_id: uuid.UUID, *, error: str, delay_seconds: float
) -> None:
    """A failed attempt: stays pending, due again after the delay."""
    await _update(
        session,
        notification_id,
        attempts=Notification.attempts + 1,
        last_error=error,
        next_attempt_at=sa.func.clock_timestamp()
        + sa.literal(timedelta(seconds=delay_seconds), sa.Interval()),
    )


async def mark_failed(session: AsyncSession, notification_id: uuid.UUID, *, error: str) -> None:
    """The last attempt failed (or the server refused for good): ``failed``, error kept."""
    await _update(
        session,
        notification_id,
        status=NotificationStatus.FAILED.value,
        attempts=Notification.attempts + 1,
        last_error=error,
    )


async def requeue(session: AsyncSession, notification_id: uuid.UUID) -> None:
    """Back to ``pending``, due now, with a fresh set of attempts (the last error is kept)."""
    await _update(
        session,
        notification_id,
        status=NotificationStatus.PENDING.value,
        attempts=0,
        next_attempt_at=sa.func.clock_timestamp(),
    )
