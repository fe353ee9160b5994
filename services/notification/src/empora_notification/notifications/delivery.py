"""The sender loop: woken by LISTEN/NOTIFY (with a polling fallback), sends due emails."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_common.db import plain_database_url
from empora_common.metrics import ServiceMetrics
from empora_notification.emails.sender import SmtpMailer
from empora_notification.notifications import service as notification_service
from empora_notification.notifications.repository import PENDING_CHANNEL
from empora_notification.notifications.service import RetryPolicy
from empora_notification.settings import NotificationSettings

log = structlog.get_logger("empora.notification.delivery")


class DeliveryWorker:
    """Claims due pending rows (``FOR UPDATE SKIP LOCKED``, so several may run) and sends them."""

    def __init__(
        self,
        *,
        settings: NotificationSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        mailer: SmtpMailer,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.mailer = mailer
        self.policy = RetryPolicy(
            max_attempts=settings.send_max_attempts,
            base_delay=settings.send_retry_base,
            max_delay=settings.send_retry_max,
        )
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._emails: Counter | None = None
        if metrics is not None:
            self._emails = Counter(
                "emails_total",
                "Email delivery attempts by type and outcome (sent, retry, failed)",
                ["service", "type", "outcome"],
                registry=metrics.registry,
            )

    def wake(self) -> None:
        """Look for due emails now."""
        self._wake.set()

    def _observe(self, kind: str, outcome: str) -> None:
        if self._emails is not None:
            self._emails.labels(self.settings.service_name, kind, outcome).inc()

    async def deliver_once(self) -> int:
        """One batch in one transaction: the rows stay locked while they are being sent."""
        async with (
            self.sessionmaker() as session,
            session.begin(),
            self.mailer.session() as smtp,
        ):
            return await notification_service.deliver_due(
                session,
                smtp,
                sender=self.settings.smtp_from,
                policy=self.policy,
                limit=self.settings.send_batch_size,
                observe=self._observe,
            )

    async def run(self) -> None:
        """Deliver until cancelled; database or SMTP outages only slow it down."""
        try:
            while True:
                await self._ensure_listener()
                try:
                    handled = await self.deliver_once()
                except Exception as exc:
                    log.warning(
                        "delivery_round_failed", error=str(exc), error_type=type(exc).__name__
                    )
                    handled = 0
                if handled < self.settings.send_batch_size:
                    await self._wait()
        finally:
            await self.close()

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.send_poll_interval)
        self._wake.clear()

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await asyncpg.connect(
                plain_database_url(self.settings.database_url), timeout=5
            )
            await self._listener.add_listener(PENDING_CHANNEL, self._on_notify)
        except Exception as exc:  # polling still delivers, only later
            log.warning("delivery_listen_failed", error=str(exc))
            self._listener = None

    def _on_notify(self, *_args: Any) -> None:
        self._wake.set()

    async def close(self) -> None:
        """Stop listening."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close()


async def delivery_loop(state: dict[str, Any]) -> None:
    """``ServiceSpec.background`` entry: the sender of this process."""
    worker: DeliveryWorker = state["delivery"]
    await worker.run()
