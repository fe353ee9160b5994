"""The notification service: consumes events, sends one email per event, lists them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from empora_common.app import ServiceSpec, create_service_app
from empora_notification.consumers import email_subscription
from empora_notification.database import inbox, outbox
from empora_notification.emails.rendering import EmailRenderer
from empora_notification.emails.sender import SmtpMailer
from empora_notification.notifications.delivery import DeliveryWorker, delivery_loop
from empora_notification.notifications.router import router as notifications_router
from empora_notification.settings import NotificationSettings


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    """The service's ASGI app; nothing connects until the lifespan starts."""
    settings = settings or NotificationSettings()
    renderer = EmailRenderer(shop_name=settings.shop_name, public_base_url=settings.public_base_url)

    async def on_startup(state: dict[str, Any]) -> None:
        state["delivery"] = DeliveryWorker(
            settings=settings,
            sessionmaker=state["sessionmaker"],
            mailer=SmtpMailer(settings),
            metrics=state["metrics"],
        )

    return create_service_app(
        ServiceSpec(
            settings=settings,
            title="Empora notification service",
            description="Emails for account and order events, sent once each; their history.",
            routers=[notifications_router],
            # Redis only for the token verifier's revocation check (an optional health check).
            uses_redis=True,
            # The relay also purges old inbox rows; the service publishes no events today.
            outbox=outbox,
            inbox=inbox,
            subscriptions=[email_subscription(renderer, settings.smtp_from)],
            background=[delivery_loop],
            on_startup=on_startup,
            openapi_tags=[{"name": "notifications", "description": "Emails sent to users"}],
        )
    )
