"""The sender loop against a real SMTP server that goes down, comes back, or refuses."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, Envelope, Session

from empora_common.db import create_engine, create_sessionmaker
from empora_common.testing.infra import AppServer, serve
from empora_notification.app import create_app
from empora_notification.emails.sender import SmtpMailer
from empora_notification.notifications.delivery import DeliveryWorker
from empora_notification.notifications.models import Notification
from empora_notification.sink import MailSink, MailStore
from empora_notification.sink.server import SinkHandler


async def notifications(
    http: aiohttp.ClientSession, service: AppServer, headers: dict[str, str]
) -> list[dict[str, Any]]:
    async with http.get(f"{service.url}/api/notifications", headers=headers) as resp:
        assert resp.status == 200
        return list((await resp.json())["data"])


class TestRetries:
    async def test_smtp_down_is_retried_and_sent_once_it_returns(
        self, service, broker, sink: MailSink, events, http, admin_headers, eventually
    ) -> None:
        await sink.stop_smtp()
        event = events.user("user.verification_requested")
        await broker.publish(event)

        async def retried_twice() -> list[dict[str, Any]]:
            rows = await notifications(http, service, admin_headers)
            return [r for r in rows if r["attempts"] >= 2]

        waiting = await eventually(retried_twice, timeout=15)
        assert len(waiting) == 1
        assert waiting[0]["status"] == "pending"
        assert waiting[0]["sent_at"] is None
        assert "Connect" in waiting[0]["last_error"] or "refused" in waiting[0]["last_error"]

        await sink.start_smtp()
        message = await sink.store.wait_for(
            lambda m: m.matches_recipient(event.data["email"]), timeout=15
        )

        assert event.data["verification_url"] in (message.text or "")

        async def sent() -> list[dict[str, Any]]:
            rows = await notifications(http, service, admin_headers)
            return [r for r in rows if r["status"] == "sent"]

        rows = await eventually(sent)
        assert len(rows) == 1
        assert rows[0]["sent_at"] is not None
        assert rows[0]["attempts"] >= 3
        assert rows[0]["last_error"] is None
        assert len(sink.store.to(event.data["email"])) == 1

    async def test_gives_up_after_the_last_attempt_and_keeps_the_error(
        self, db, broker, sink: MailSink, events, http, admin_headers, make_settings, eventually
    ) -> None:
        await sink.stop_smtp()
        settings = make_settings(NOTIFICATION_MAX_ATTEMPTS=3, NOTIFICATION_RETRY_BASE_SECONDS=0.05)
        event = events.order("order.shipped")
        async with serve(create_app(settings)) as service:
            await broker.publish(event)

            async def failed() -> list[dict[str, Any]]:
                rows = await notifications(http, service, admin_headers)
                return [r for r in rows if r["status"] == "failed"]

            rows = await eventually(failed, timeout=15)

        assert len(rows) == 1
        assert rows[0]["attempts"] == 3
        assert rows[0]["last_error"]
        assert rows[0]["sent_at"] is None
        assert rows[0]["to"] == event.data["customer_email"]


class BouncingHandler(SinkHandler):
    """Refuses mailboxes whose name starts with ``bounce`` with a permanent 550."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class TestPermanentRefusal:
    async def test_a_550_fails_at_once_and_other_mail_still_goes_out(
        self, db, broker, events, http, admin_headers, make_settings, eventually
    ) -> None:
        store = MailStore()
        async with MailSink(
            smtp_port=0, http_port=None, store=store, handler=BouncingHandler(store)
        ) as bouncer:
            settings = make_settings(SMTP_PORT=bouncer.smtp_port)
            bounced = events.user("user.registered", email="bounce-me@example.com")
            fine = events.user("user.registered")
            async with serve(create_app(settings)) as service:
                await broker.publish(bounced)
                await broker.publish(fine)
                await store.wait_for(lambda m: m.matches_recipient(fine.data["email"]))

                async def settled() -> list[dict[str, Any]]:
                    rows = await notifications(http, service, admin_headers)
                    done = [r for r in rows if r["status"] != "pending"]
                    return done if len(done) == 2 else []

                rows = await eventually(settled)

        by_to = {r["to"]: r for r in rows}
        assert by_to["bounce-me@example.com"]["status"] == "failed"
        assert by_to["bounce-me@example.com"]["attempts"] == 1
        assert "550" in by_to["bounce-me@example.com"]["last_error"]
        assert by_to[fine.data["email"]]["status"] == "sent"
        assert store.to("bounce-me@example.com") == []


class TestConcurrentSenders:
    async def test_two_senders_never_send_an_email_twice(
        self, db: str, sink: MailSink, make_settings
    ) -> None:
        settings = make_settings(NOTIFICATION_BATCH_SIZE=3)
        engine = create_engine(db, pool_size=4)
        sessionmaker = create_sessionmaker(engine)
        recipients = [f"many-{i}@example.com" for i in range(12)]
        async with sessionmaker() as session, session.begin():
            for to in recipients:
                session.add(
                    Notification(
                        id=uuid.uuid4(),
                        event_id=uuid.uuid4(),
                        event_type="order.paid",
                        type="order_confirmation",
                        channel="email",
                        recipient=to,
                        subject=f"Order for {to}",
                        body_text="text\n",
                        body_html="<p>html</p>",
                        message_id=f"<{uuid.uuid4().hex}@empora.local>",
                        status="pending",
                        attempts=0,
                    )
                )
        workers = [
            DeliveryWorker(
                settings=settings, sessionmaker=sessionmaker, mailer=SmtpMailer(settings)
            )
            for _ in range(2)
        ]
        try:
            for _ in range(20):
                handled = await asyncio.gather(*(w.deliver_once() for w in workers))
                if sum(handled) == 0:
                    break
            async with sessionmaker() as session:
                statuses = list(await session.scalars(sa.select(Notification.status)))
        finally:
            await engine.dispose()

        received = sorted(r for m in sink.store.all() for r in m.rcpt_tos)
        assert received == sorted(recipients)
        assert statuses == ["sent"] * len(recipients)
