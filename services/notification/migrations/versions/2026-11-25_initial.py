"""initial: the notification table, outbox and inbox

Revision ID: 5e1f0c2a9b7d
Revises:
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from empora_common.messaging.tables import create_messaging_tables, drop_messaging_tables

revision: str = "5e1f0c2a9b7d"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "notification"


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False, server_default="email"),
        sa.Column("user_id", UUID(as_uuid=True), nullable=True),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body_text", sa.Text, nullable=False),
        sa.Column("body_html", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification"),
        sa.UniqueConstraint("event_id", name="uq_notification_event_id"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name="ck_notification_status"
        ),
        sa.CheckConstraint("channel IN ('email')", name="ck_notification_channel"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_notification_due",
        "notification",
        ["next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_notification_created_at_id", "notification", ["created_at", "id"], schema=SCHEMA
    )
    op.create_index("ix_notification_user_id", "notification", ["user_id"], schema=SCHEMA)
    op.create_index(
        "ix_notification_recipient_lower",
        "notification",
        [sa.text("lower(recipient)")],
        schema=SCHEMA,
    )
    create_messaging_tables(op, SCHEMA)


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    op.drop_table("notification", schema=SCHEMA)
