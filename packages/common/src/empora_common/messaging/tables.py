"""The outbox and inbox tables every service with events keeps in its own schema."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from empora_common.db import make_metadata


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """Events written in the business transaction, waiting for the relay."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("aggregate_id", sa.Text),
        sa.Column("correlation_id", sa.Text),
        sa.Column("data", JSONB, nullable=False),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        # The W3C trace context of the transaction that wrote the event (tracing on only).
        sa.Column("traceparent", sa.Text),
        sa.Index("ix_outbox_unpublished", "seq", postgresql_where=sa.text("published_at IS NULL")),
        sa.Index("ix_outbox_published_at", "published_at"),
    )


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    """Event ids each consumer has applied, recorded with the effect."""
    return sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Index("ix_inbox_processed_at", "processed_at"),
    )


def create_messaging_tables(op: Any, schema: str) -> None:
    """Create outbox and inbox in a migration (``op`` is alembic.op), from the same Table
    definitions the services use at run time, so the two can never drift apart."""
    metadata = make_metadata(schema)
    bind = op.get_bind()
    outbox_table(metadata).create(bind)
    inbox_table(metadata).create(bind)


def add_outbox_traceparent(op: Any, schema: str) -> None:
    """The ``traceparent`` column for outboxes created before it existed (a new database gets
    it from ``create_messaging_tables`` already)."""
    op.execute(f'ALTER TABLE "{schema}".outbox ADD COLUMN IF NOT EXISTS traceparent text')


def drop_outbox_traceparent(op: Any, schema: str) -> None:
    """Undo ``add_outbox_traceparent``."""
    op.execute(f'ALTER TABLE "{schema}".outbox DROP COLUMN IF EXISTS traceparent')


def drop_messaging_tables(op: Any, schema: str) -> None:
    """Undo ``create_messaging_tables``."""
    op.drop_table("inbox", schema=schema)
    op.drop_table("outbox", schema=schema)
