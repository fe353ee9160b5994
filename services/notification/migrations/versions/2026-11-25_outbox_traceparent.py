"""The outbox keeps the trace context of the transaction that wrote each event.

Revision ID: 6a2b1d3c4e5f
Revises: 5e1f0c2a9b7d
Create Date: 2026-11-25 17:00:00
"""

from collections.abc import Sequence

from alembic import op

from empora_common.messaging.tables import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "6a2b1d3c4e5f"
down_revision: str | None = "5e1f0c2a9b7d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "notification"


def upgrade() -> None:
    add_outbox_traceparent(op, SCHEMA)


def downgrade() -> None:
    drop_outbox_traceparent(op, SCHEMA)
