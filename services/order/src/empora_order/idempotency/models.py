"""The Idempotency-Key table: one row per (user, key), with the stored response."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from empora_order.database import metadata

idempotency_key = sa.Table(
    "idempotency_key",
    metadata,
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    # The order this key drives; while it is pending, the order's lease is the key's lock.
    sa.Column("order_id", sa.Uuid),
    sa.Column("response_status", sa.Integer),
    sa.Column("response_body", JSONB),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("user_id", "key"),
    sa.CheckConstraint("length(key) <= 255", name="key_length"),
    sa.Index("ix_idempotency_key_created_at", "created_at"),
    sa.Index("ix_idempotency_key_order_id", "order_id"),
)
