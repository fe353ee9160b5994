"""Notification rules on the real database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_common.db import create_engine, create_sessionmaker
from empora_common.messaging.envelope import Envelope
from empora_notification.emails.rendering import EmailKind, RenderedEmail
from empora_notification.notifications import service as notification_service
from empora_notification.notifications.models import Notification


@pytest.fixture
async def sessions(db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(db, pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


def event() -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        type="user.registered",
        version=1,
        occurred_at=datetime.now(UTC),
        producer="auth",
        data={},
    )


class TestEnqueueEmail:
    async def test_an_event_gets_one_email_even_after_its_inbox_row_is_purged(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        envelope = event()
        content = RenderedEmail(subject="Hi", text="hi\n", html="<p>hi</p>")
        ids = []
        for _ in range(2):
            async with sessions() as session, session.begin():
                ids.append(
                    await notification_service.enqueue_email(
                        session,
                        event=envelope,
                        kind=EmailKind.EMAIL_VERIFICATION,
                        recipient="  someone@example.com ",
                        user_id=None,
                        content=content,
                        sender="Empora <no-reply@empora.local>",
                    )
                )

        async with sessions() as session:
            rows = list(await session.scalars(sa.select(Notification)))
        assert ids[0] is not None and ids[1] is None
        assert [(r.id, r.status, r.recipient, r.event_id) for r in rows] == [
            (ids[0], "pending", "someone@example.com", envelope.id)
        ]
        assert rows[0].message_id.endswith("@empora.local>")
