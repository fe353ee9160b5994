"""The outbox keeps the trace context of the transaction that wrote each event.

Revision ID: order_0002
Revises: order_0001
Create Date: 2026-11-25 17:00:00
"""

from collections.abc import Sequence

from alembic import op

from empora_common.messaging.tables import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "order_0002"
down_revision: str | None = "order_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "order"


def upgrade() -> None:
    add_outbox_traceparent(op, SCHEMA)


def downgrade() -> None:
    drop_outbox_traceparent(op, SCHEMA)
