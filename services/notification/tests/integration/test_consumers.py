"""The ``notification.emails`` consumer end to end: real RabbitMQ, PostgreSQL and SMTP."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from prometheus_client.parser import text_string_to_metric_families

from empora_common.testing.infra import AppServer
from empora_notification.sink import MailSink, StoredMessage

PUBLIC_BASE_URL = "https://shop.example.test"


def lines_of(message: StoredMessage) -> list[str]:
    """The raw message's lines as they crossed the wire."""
    return message.raw.decode("utf-8").split("\r\n")


async def admin_list(
    http: aiohttp.ClientSession, service: AppServer, headers: dict[str, str]
) -> list[dict[str, Any]]:
    async with http.get(f"{service.url}/api/notifications?limit=100", headers=headers) as resp:
        assert resp.status == 200
        body = await resp.json()
    return list(body["data"])


async def events_counted(
    http: aiohttp.ClientSession, service: AppServer, event_type: str, outcome: str
) -> float:
    """The service's ``events_total`` for consumed events of a type with an outcome."""
    async with http.get(f"{service.url}/metrics") as resp:
        text = await resp.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "events_total"
        and sample.labels.get("direction") == "in"
        and sample.labels.get("type") == event_type
        and sample.labels.get("outcome") == outcome
    )


async def all_have_status(
    http: aiohttp.ClientSession, service: AppServer, headers: dict[str, str], status: str
) -> bool:
    rows = await admin_list(http, service, headers)
    return bool(rows) and all(r["status"] == status for r in rows)


class TestVerificationEmails:
    async def test_user_registered_sends_one_welcome_email_with_the_link(
        self, service, broker, sink: MailSink, events, http, admin_headers
    ) -> None:
        event = events.user("user.registered", first_name="Zoë")
        await broker.publish(event)

        message = await sink.store.wait_for(lambda m: m.matches_recipient(event.data["email"]))

        url = event.data["verification_url"]
        assert url.startswith(f"{PUBLIC_BASE_URL}/verify-email?token=")
        assert url in lines_of(message)  # one unwrapped line in the raw message
        assert message.text is not None and url in message.text.splitlines()
        assert message.html is not None and f'href="{url}"' in message.html
        assert "Hello Zoë," in message.text
        assert "Empora" in message.subject
        assert message.mail_from == "no-reply@empora.local"
        assert message.sender == "Empora <no-reply@empora.local>"
        assert PUBLIC_BASE_URL in message.text
        rows = await admin_list(http, service, admin_headers)
        assert len(rows) == 1
        assert rows[0]["type"] == "email_verification"
        assert rows[0]["to"] == event.data["email"]
        assert rows[0]["user_id"] == event.data["user_id"]
        assert rows[0]["event_id"] == str(event.id)

    async def test_verification_requested_sends_the_new_link(
        self, service, broker, sink: MailSink, events
    ) -> None:
        event = events.user("user.verification_requested")
        await broker.publish(event)

        message = await sink.store.wait_for(lambda m: m.matches_recipient(event.data["email"]))

        url = event.data["verification_url"]
        assert url in lines_of(message)
        assert message.html is not None and f'href="{url}"' in message.html
        assert "Confirm your email address" in message.subject

    async def test_password_reset_sends_the_reset_link(
        self, service, broker, sink: MailSink, events
    ) -> None:
        event = events.user("user.password_reset_requested")
        await broker.publish(event)

        message = await sink.store.wait_for(lambda m: m.matches_recipient(event.data["email"]))

        url = event.data["reset_url"]
        assert url.startswith(f"{PUBLIC_BASE_URL}/reset-password?token=")
        assert url in lines_of(message)
        assert message.html is not None and f'href="{url}"' in message.html
        assert message.subject == "Reset your Empora password"


class TestOrderEmails:
    async def test_order_paid_confirms_with_lines_and_totals(
        self, service, broker, sink: MailSink, events
    ) -> None:
        event = events.order("order.paid")
        await broker.publish(event)

        message = await sink.store.wait_for(
            lambda m: m.matches_recipient(event.data["customer_email"])
        )

        assert event.data["number"] in message.subject
        text = message.text or ""
        assert "Café mug (MUG-001) x 2 @ $12.50 = $25.00" in text
        assert "T-shirt <large> (TEE-042) x 1 @ $19.99 = $19.99" in text
        assert "Subtotal: $44.99" in text
        assert "Shipping: $4.99" in text
        assert "Total:    $49.98" in text
        html = message.html or ""
        assert "T-shirt &lt;large&gt;" in html  # autoescaped
        assert "<large>" not in html
        assert "$49.98" in html

    async def test_order_shipped_carries_the_tracking_number(
        self, service, broker, sink: MailSink, events
    ) -> None:
        event = events.order("order.shipped")
        await broker.publish(event)

        message = await sink.store.wait_for(
            lambda m: m.matches_recipient(event.data["customer_email"])
        )

        assert event.data["number"] in message.subject
        assert "shipped" in message.subject
        assert "Tracking number: 1Z999AA10123456784" in (message.text or "")
        assert "1Z999AA10123456784" in (message.html or "")

    async def test_order_cancelled_gives_the_refund_notice(
        self, service, broker, sink: MailSink, events
    ) -> None:
        event = events.order("order.cancelled")
        await broker.publish(event)

        message = await sink.store.wait_for(
            lambda m: m.matches_recipient(event.data["customer_email"])
        )

        assert event.data["number"] in message.subject
        assert "cancelled" in message.subject
        assert "Refund: $49.98 (refunded, reference re_123)." in (message.text or "")


class TestExactlyOnce:
    async def test_an_event_delivered_three_times_sends_one_email(
        self, service, broker, sink: MailSink, events, http, admin_headers, eventually
    ) -> None:
        event = events.order("order.paid")
        for _ in range(3):
            await broker.publish(event)

        async def two_duplicates() -> bool:
            return await events_counted(http, service, "order.paid", "duplicate") == 2

        assert await eventually(two_duplicates, timeout=15)
        await sink.store.wait_for(lambda m: m.matches_recipient(event.data["customer_email"]))
        rows = await admin_list(http, service, admin_headers)
        assert [r["event_id"] for r in rows] == [str(event.id)]
        assert await eventually(lambda: all_have_status(http, service, admin_headers, "sent"))
        assert await events_counted(http, service, "order.paid", "applied") == 1
        assert len(sink.store.to(event.data["customer_email"])) == 1


class TestPoisonMessages:
    async def test_broken_payloads_go_to_the_dlq_and_the_consumer_keeps_going(
        self, service, broker, sink: MailSink, events, http, admin_headers
    ) -> None:
        not_json = b"{this is not an envelope"
        await broker.publish_raw(not_json, "user.registered")
        no_email = events.user("user.registered")
        del no_email.data["email"]
        await broker.publish(no_email)
        not_a_link = events.user("user.password_reset_requested", reset_url="javascript:alert(1)")
        await broker.publish(not_a_link)
        good = events.order("order.paid")
        await broker.publish(good)

        message = await sink.store.wait_for(
            lambda m: m.matches_recipient(good.data["customer_email"])
        )
        dead = await broker.dead_letters(3)

        assert good.data["number"] in message.subject
        assert not_json in dead
        dead_ids = {orjson.loads(b)["id"] for b in dead if b != not_json}
        assert dead_ids == {str(no_email.id), str(not_a_link.id)}
        rows = await admin_list(http, service, admin_headers)
        assert [r["event_id"] for r in rows] == [str(good.id)]
