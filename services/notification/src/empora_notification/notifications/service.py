"""Business rules: one email per event, who sees which email, delivery with retries."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from empora_common.messaging.envelope import Envelope
from empora_common.pagination import Page, PageParams
from empora_common.security import Principal
from empora_notification.emails.message import OutgoingEmail, build_message, new_message_id
from empora_notification.emails.rendering import EmailKind, RenderedEmail
from empora_notification.emails.sender import (
    SEND_ERRORS,
    SmtpSession,
    describe,
    is_permanent,
    is_session_failure,
)
from empora_notification.notifications import repository
from empora_notification.notifications.errors import NotificationNotFailed, NotificationNotFound
from empora_notification.notifications.models import Notification, NotificationStatus
from empora_notification.notifications.schemas import (
    NotificationAdminOut,
    NotificationOut,
    StatusFilter,
)

log = structlog.get_logger("empora.notification")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently an email is retried."""

    max_attempts: int
    base_delay: float
    max_delay: float

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones: base, 2×base, 4×base..."""
        return float(min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay))


# (kind, outcome) of each delivery attempt, for metrics.
DeliveryObserver = Callable[[str, str], None]


async def enqueue_email(
    session: AsyncSession,
    *,
    event: Envelope,
    kind: EmailKind,
    recipient: str,
    user_id: uuid.UUID | None,
    content: RenderedEmail,
    sender: str,
) -> uuid.UUID | None:
    """A pending email for an event, in the consumer's transaction; the sender is woken.

    None when the event already has its email: the inbox normally answers that first, but
    its rows are purged after a retention period while notifications are kept.
    """
    notification_id = await repository.add_once(
        session,
        {
            "id": uuid.uuid4(),
            "event_id": event.id,
            "event_type": event.type,
            "type": kind.value,
            "channel": "email",
            "user_id": user_id,
            "recipient": recipient.strip(),
            "subject": content.subject,
            "body_text": content.text,
            "body_html": content.html,
            "message_id": new_message_id(sender),
            "status": NotificationStatus.PENDING.value,
            "attempts": 0,
        },
    )
    if notification_id is not None:
        await repository.notify_pending(session)
    return notification_id


async def list_notifications(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    status: StatusFilter | None = None,
) -> Page[NotificationOut] | Page[NotificationAdminOut]:
    """The caller's emails, newest first; an administrator's list holds everyone's."""
    where: list[sa.ColumnElement[bool]] = []
    if not user.is_admin:
        where.append(repository.visible_to(user.user_id, user.email))
    if status is not None:
        where.append(Notification.status == status)
    rows, total = await repository.page(
        session, where=where, offset=params.offset, limit=params.limit
    )
    if user.is_admin:
        return Page[NotificationAdminOut].build(
            [NotificationAdminOut.of(r) for r in rows], params, total
        )
    return Page[NotificationOut].build([NotificationOut.of(r) for r in rows], params, total)


def _can_see(user: Principal, row: Notification) -> bool:
    if user.is_admin or row.user_id == user.user_id:
        return True
    return bool(user.email.strip()) and row.recipient.lower() == user.email.strip().lower()


async def get_notification(
    session: AsyncSession, user: Principal, notification_id: uuid.UUID
) -> NotificationOut:
    """One email of the caller (any for an administrator); someone else's is not found."""
    row = await repository.get(session, notification_id)
    if row is None or not _can_see(user, row):
        raise NotificationNotFound("No such notification")
    return NotificationAdminOut.of(row) if user.is_admin else NotificationOut.of(row)


async def resend(session: AsyncSession, notification_id: uuid.UUID) -> NotificationAdminOut:
    """Put a failed email back in the queue with fresh attempts."""
    row = await repository.get_for_update(session, notification_id)
    if row is None:
        raise NotificationNotFound("No such notification")
    if row.status != NotificationStatus.FAILED:
        raise NotificationNotFailed(f"The notification is {row.status}, not failed")
    await repository.requeue(session, notification_id)
    await repository.notify_pending(session)
    await session.refresh(row)
    log.info("notification_requeued", notification_id=str(notification_id))
    return NotificationAdminOut.of(row)


async def deliver_due(
    session: AsyncSession,
    smtp: SmtpSession,
    *,
    sender: str,
    policy: RetryPolicy,
    limit: int,
    observe: DeliveryObserver | None = None,
) -> int:
    """Send the due pending emails (claimed and locked in the caller's transaction)."""
    rows = await repository.claim_due(session, limit)
    session_error: BaseException | None = None
    for row in rows:
        error = session_error
        if error is None:
            message = build_message(
                OutgoingEmail(
                    sender=sender,
                    recipient=row.recipient,
                    subject=row.subject,
                    text=row.body_text,
                    html=row.body_html,
                    message_id=row.message_id,
                    date=datetime.now(UTC),
                )
            )
            try:
                await smtp.send(message, sender=sender, recipient=row.recipient)
            except SEND_ERRORS as exc:
                error = exc
                if is_session_failure(exc):
                    session_error = exc
        if error is None:
            await repository.mark_sent(session, row.id)
            outcome = "sent"
            log.info("email_sent", notification_id=str(row.id), type=row.type)
        else:
            outcome = await _record_failure(session, row, error, policy)
        if observe is not None:
            observe(row.type, outcome)
    return len(rows)


async def _record_failure(
    session: AsyncSession, row: Notification, error: BaseException, policy: RetryPolicy
) -> str:
    attempts = row.attempts + 1
    reason = describe(error)
    if is_permanent(error) or attempts >= policy.max_attempts:
        await repository.mark_failed(session, row.id, error=reason)
        log.warning("email_failed", notification_id=str(row.id), attempts=attempts, error=reason)
        return "failed"
    delay = policy.delay(attempts)
    await repository.mark_retry(session, row.id, error=reason, delay_seconds=delay)
    log.info(
        "email_retry_scheduled",
        notification_id=str(row.id),
        attempts=attempts,
        delay_seconds=delay,
        error=reason,
    )
    return "retry"
