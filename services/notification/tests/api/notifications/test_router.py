"""``/api/notifications`` over real HTTP: who sees which email, paging, admin re-send."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from empora_common.db import create_engine, create_sessionmaker
from empora_common.testing.infra import AppServer
from empora_common.testing.tokens import TestSigner
from empora_notification.notifications.models import Notification
from empora_notification.sink import MailSink

CONTRACT_FIELDS = {"id", "type", "channel", "to", "subject", "status", "created_at", "sent_at"}
BASE_TIME = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

Seed = Callable[..., Awaitable[Notification]]


@pytest.fixture
async def seed(db: str) -> AsyncIterator[Seed]:
    """Insert notification rows directly (as the consumer would have)."""
    engine = create_engine(db, pool_size=1)
    sessionmaker = create_sessionmaker(engine)
    counter = iter(range(1_000_000))

    async def add(**values: Any) -> Notification:
        n = next(counter)
        row = Notification(
            id=uuid.uuid4(),
            event_id=uuid.uuid4(),
            event_type="order.paid",
            type="order_confirmation",
            channel="email",
            user_id=None,
            recipient=f"someone-{uuid.uuid4().hex[:8]}@example.com",
            subject=f"Order EMP-{n}",
            body_text="text\n",
            body_html="<p>html</p>",
            message_id=f"<{uuid.uuid4().hex}@empora.local>",
            status="sent",
            attempts=1,
            created_at=BASE_TIME + timedelta(minutes=n),
            sent_at=BASE_TIME + timedelta(minutes=n, seconds=1),
        )
        for key, value in values.items():
            setattr(row, key, value)
        async with sessionmaker() as session, session.begin():
            session.add(row)
        return row

    yield add
    await engine.dispose()


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, str]:
    async with http.get(url, headers=headers or {}) as resp:
        return resp.status, await resp.json(content_type=None), resp.content_type


async def post(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, str]:
    async with http.post(url, headers=headers or {}) as resp:
        return resp.status, await resp.json(content_type=None), resp.content_type


class TestListNotifications:
    async def test_requires_a_bearer_token(self, service: AppServer, http) -> None:
        status, body, content_type = await get(http, f"{service.url}/api/notifications")

        assert status == 401
        assert content_type == "application/problem+json"
        assert body["status"] == 401

    async def test_rejects_a_forged_token(self, service: AppServer, http) -> None:
        forged = TestSigner().headers()  # another key: not in the JWKS
        status, body, _ = await get(http, f"{service.url}/api/notifications", forged)

        assert status == 401
        assert body["type"].endswith("/invalid-token")

    async def test_a_user_sees_only_own_emails_newest_first(
        self, service: AppServer, http, signer: TestSigner, seed: Seed
    ) -> None:
        user_id, email = uuid.uuid4(), f"me-{uuid.uuid4().hex[:6]}@example.com"
        by_id = await seed(user_id=user_id)
        by_address = await seed(recipient=email.upper(), type="password_reset")
        await seed(user_id=uuid.uuid4())
        await seed()

        status, body, _ = await get(
            http, f"{service.url}/api/notifications", signer.headers(user_id, email=email)
        )

        assert status == 200
        assert [n["id"] for n in body["data"]] == [str(by_address.id), str(by_id.id)]
        assert body["meta"] == {"page": 1, "limit": 20, "total": 2, "total_pages": 1}
        first = body["data"][0]
        assert set(first) == CONTRACT_FIELDS
        assert first["channel"] == "email"
        assert first["type"] == "password_reset"
        assert first["to"] == email.upper()
        assert first["status"] == "sent"
        assert first["created_at"].startswith("2026-11-25T12:01:00")

    async def test_an_admin_sees_everyone_and_filters_by_status(
        self, service: AppServer, http, admin_headers, seed: Seed
    ) -> None:
        sent = await seed()
        failed = await seed(status="failed", sent_at=None, last_error="SMTPConnectError: boom")
        url = f"{service.url}/api/notifications"

        _, everything, _ = await get(http, url, admin_headers)
        status, only_failed, _ = await get(http, url + "?status=failed", admin_headers)

        assert [n["id"] for n in everything["data"]] == [str(failed.id), str(sent.id)]
        assert status == 200
        assert [n["id"] for n in only_failed["data"]] == [str(failed.id)]
        row = only_failed["data"][0]
        assert set(row) >= CONTRACT_FIELDS
        assert row["last_error"] == "SMTPConnectError: boom"
        assert row["event_type"] == "order.paid"

    async def test_pages_never_repeat_or_skip_a_row(
        self, service: AppServer, http, admin_headers, seed: Seed
    ) -> None:
        same_time = BASE_TIME + timedelta(days=1)
        rows = [await seed(created_at=same_time) for _ in range(5)]
        url = f"{service.url}/api/notifications?limit=2&page="

        pages = [await get(http, url + str(page), admin_headers) for page in (1, 2, 3)]

        seen = [n["id"] for _, body, _ in pages for n in body["data"]]
        assert sorted(seen) == sorted(str(r.id) for r in rows)
        assert len(seen) == 5
        assert pages[2][1]["meta"] == {"page": 3, "limit": 2, "total": 5, "total_pages": 3}

    @pytest.mark.parametrize(
        "query", ["limit=101", "limit=0", "page=0", "page=101&limit=100", "status=bounced"]
    )
    async def test_rejects_bad_query_parameters(
        self, service: AppServer, http, admin_headers, query: str
    ) -> None:
        status, body, content_type = await get(
            http, f"{service.url}/api/notifications?{query}", admin_headers
        )

        assert status == 422
        assert content_type == "application/problem+json"
        assert body["errors"]


class TestGetNotification:
    async def test_the_recipient_reads_it_and_nobody_else(
        self, service: AppServer, http, signer: TestSigner, seed: Seed
    ) -> None:
        owner = uuid.uuid4()
        row = await seed(user_id=owner)
        url = f"{service.url}/api/notifications/{row.id}"

        own_status, own, _ = await get(http, url, signer.headers(owner))
        other_status, other, _ = await get(http, url, signer.headers(uuid.uuid4()))

        assert own_status == 200
        assert own["id"] == str(row.id)
        assert set(own) == CONTRACT_FIELDS
        assert other_status == 404
        assert other["type"].endswith("/notification-not-found")

    async def test_a_malformed_id_is_not_found(
        self, service: AppServer, http, admin_headers
    ) -> None:
        status, _, _ = await get(http, f"{service.url}/api/notifications/nope", admin_headers)

        assert status == 404


class TestResend:
    async def test_customers_may_not_resend(
        self, service: AppServer, http, signer: TestSigner, seed: Seed
    ) -> None:
        owner = uuid.uuid4()
        row = await seed(user_id=owner, status="failed", sent_at=None)

        status, body, _ = await post(
            http, f"{service.url}/api/notifications/{row.id}/resend", signer.headers(owner)
        )

        assert status == 403
        assert body["status"] == 403

    async def test_requires_a_token(self, service: AppServer, http) -> None:
        status, _, _ = await post(http, f"{service.url}/api/notifications/{uuid.uuid4()}/resend")

        assert status == 401

    async def test_an_unknown_notification_is_not_found(
        self, service: AppServer, http, admin_headers
    ) -> None:
        status, body, _ = await post(
            http, f"{service.url}/api/notifications/{uuid.uuid4()}/resend", admin_headers
        )

        assert status == 404
        assert body["type"].endswith("/notification-not-found")

    @pytest.mark.parametrize("state", ["sent", "pending"])
    async def test_only_a_failed_one_can_be_resent(
        self, service: AppServer, http, admin_headers, seed: Seed, state: str
    ) -> None:
        # A pending row far in the future, so the sender leaves it alone during the test.
        row = await seed(status=state, next_attempt_at=BASE_TIME + timedelta(days=3650))

        status, body, content_type = await post(
            http, f"{service.url}/api/notifications/{row.id}/resend", admin_headers
        )

        assert status == 409
        assert content_type == "application/problem+json"
        assert body["type"] == "https://empora.dev/problems/notification-not-failed"

    async def test_a_failed_email_goes_back_to_pending_and_is_sent(
        self, service: AppServer, http, admin_headers, seed: Seed, sink: MailSink, eventually
    ) -> None:
        row = await seed(
            status="failed",
            sent_at=None,
            attempts=8,
            recipient="retry-me@example.com",
            subject="Your Empora order EMP-20261125-RESEND is confirmed",
            last_error="SMTPConnectError: refused",
        )

        status, body, _ = await post(
            http, f"{service.url}/api/notifications/{row.id}/resend", admin_headers
        )

        assert status == 200
        assert body["id"] == str(row.id)
        assert body["status"] == "pending"
        assert body["attempts"] == 0
        message = await sink.store.wait_for(lambda m: m.matches_recipient("retry-me@example.com"))
        assert message.subject == "Your Empora order EMP-20261125-RESEND is confirmed"

        async def sent() -> Any:
            _, now, _ = await get(http, f"{service.url}/api/notifications/{row.id}", admin_headers)
            return now if now["status"] == "sent" else None

        final = await eventually(sent)
        assert final["attempts"] == 1
        assert final["sent_at"] is not None
        assert len(sink.store.to("retry-me@example.com")) == 1


class TestOpenApi:
    async def test_documents_the_notification_routes(self, service: AppServer, http) -> None:
        status, spec, _ = await get(http, f"{service.url}/openapi.json")

        assert status == 200
        assert set(spec["paths"]) >= {
            "/api/notifications",
            "/api/notifications/{notification_id}",
            "/api/notifications/{notification_id}/resend",
        }
        listed = spec["paths"]["/api/notifications"]["get"]
        assert {p["name"] for p in listed["parameters"]} == {"page", "limit", "status"}
