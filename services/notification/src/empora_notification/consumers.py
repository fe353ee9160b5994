"""What the notification service reacts to: one queue, one email per event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from empora_common.messaging.consumer import Handler, Subscription
from empora_common.messaging.envelope import Envelope, MalformedEvent
from empora_contracts.events import (
    OrderCancelled,
    OrderPaid,
    OrderShipped,
    UserPasswordResetRequested,
    UserRegistered,
    UserVerificationRequested,
)
from empora_notification.emails.rendering import (
    EmailKind,
    EmailRenderer,
    RenderedEmail,
    Template,
    require_web_link,
)
from empora_notification.notifications import service as notification_service

EMAILS_QUEUE = "notification.emails"

E = TypeVar("E", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class EmailFor:
    """The email an event asks for."""

    kind: EmailKind
    recipient: str
    user_id: uuid.UUID | None
    content: RenderedEmail


Compose = Callable[[Envelope], EmailFor]


def _payload(model: type[E], envelope: Envelope) -> E:
    # A payload that does not fit raises ValidationError: the consumer dead-letters it at once
    # (notification.emails.dlq); retrying could not make it fit.
    return model.model_validate(envelope.data)


def _link(url: str) -> str:
    """The event's link, or MalformedEvent (dead-lettered) when it is not a web link."""
    try:
        return require_web_link(url)
    except ValueError as exc:
        raise MalformedEvent(str(exc)) from exc


def _user_id(raw: object) -> uuid.UUID | None:
    """The event's user id when it carries a usable one."""
    if raw is None:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


class EmailComposer:
    """Turns each event into its email, with the shop's templates."""

    def __init__(self, renderer: EmailRenderer) -> None:
        self.renderer = renderer

    def welcome(self, envelope: Envelope) -> EmailFor:
        """``user.registered``: welcome and verify."""
        event = _payload(UserRegistered, envelope)
        return self._verification(Template.WELCOME, event)

    def verify_email(self, envelope: Envelope) -> EmailFor:
        """``user.verification_requested``: a new verification link."""
        event = _payload(UserVerificationRequested, envelope)
        return self._verification(Template.VERIFY_EMAIL, event)

    def _verification(
        self, template: Template, event: UserRegistered | UserVerificationRequested
    ) -> EmailFor:
        content = self.renderer.render(
            template,
            {
                "email": event.email,
                "first_name": event.first_name,
                "verification_url": _link(event.verification_url),
            },
        )
        return EmailFor(EmailKind.EMAIL_VERIFICATION, event.email, _user_id(event.user_id), content)

    def password_reset(self, envelope: Envelope) -> EmailFor:
        """``user.password_reset_requested``: the reset link."""
        event = _payload(UserPasswordResetRequested, envelope)
        content = self.renderer.render(
            Template.PASSWORD_RESET,
            {
                "email": event.email,
                "first_name": event.first_name,
                "reset_url": _link(event.reset_url),
            },
        )
        return EmailFor(EmailKind.PASSWORD_RESET, event.email, _user_id(event.user_id), content)

    def order_paid(self, envelope: Envelope) -> EmailFor:
        """``order.paid``: the confirmation with lines and totals."""
        event = _payload(OrderPaid, envelope)
        content = self.renderer.render(
            Template.ORDER_PAID,
            {
                "first_name": None,
                "number": event.number,
                "lines": event.lines,
                "subtotal": event.subtotal,
                "shipping": event.shipping,
                "total": event.total,
            },
        )
        return EmailFor(
            EmailKind.ORDER_CONFIRMATION, event.customer_email, _user_id(event.user_id), content
        )

    def order_shipped(self, envelope: Envelope) -> EmailFor:
        """``order.shipped``: the tracking number."""
        event = _payload(OrderShipped, envelope)
        content = self.renderer.render(
            Template.ORDER_SHIPPED,
            {"first_name": None, "number": event.number, "tracking_number": event.tracking_number},
        )
        # The contract's payload has no user_id; use it when the producer adds it.
        user_id = _user_id(envelope.data.get("user_id"))
        return EmailFor(EmailKind.ORDER_SHIPPED, event.customer_email, user_id, content)

    def order_cancelled(self, envelope: Envelope) -> EmailFor:
        """``order.cancelled``: the refund notice."""
        event = _payload(OrderCancelled, envelope)
        content = self.renderer.render(
            Template.ORDER_CANCELLED,
            {
                "first_name": None,
                "number": event.number,
                "refund": event.refund,
                "lines": event.lines,
            },
        )
        return EmailFor(
            EmailKind.ORDER_CANCELLED, event.customer_email, _user_id(event.user_id), content
        )


def _enqueue(compose: Compose, sender: str) -> Handler:
    """A handler that stores the composed email in the consumer's transaction (with its inbox
    row), so a redelivered event finds its id there and sends nothing twice."""

    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        email = compose(envelope)
        await notification_service.enqueue_email(
            session,
            event=envelope,
            kind=email.kind,
            recipient=email.recipient,
            user_id=email.user_id,
            content=email.content,
            sender=sender,
        )

    return handle


def email_subscription(renderer: EmailRenderer, sender: str) -> Subscription:
    """``notification.emails``: routing key -> handler."""
    compose = EmailComposer(renderer)
    return Subscription(
        queue=EMAILS_QUEUE,
        handlers={
            "user.registered": _enqueue(compose.welcome, sender),
            "user.verification_requested": _enqueue(compose.verify_email, sender),
            "user.password_reset_requested": _enqueue(compose.password_reset, sender),
            "order.paid": _enqueue(compose.order_paid, sender),
            "order.shipped": _enqueue(compose.order_shipped, sender),
            "order.cancelled": _enqueue(compose.order_cancelled, sender),
        },
    )
