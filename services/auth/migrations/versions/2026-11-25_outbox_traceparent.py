"""The outbox keeps the trace context of the transaction that wrote each event.

Revision ID: 2026_11_25_outbox_traceparent
Revises: 2026_11_25_initial
Create Date: 2026-11-25 17:00:00
"""

from collections.abc import Sequence

from alembic import op

from empora_common.messaging.tables import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "2026_11_25_outbox_traceparent"
down_revision: str | None = "2026_11_25_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "auth"


def upgrade() -> None:
    add_outbox_traceparent(op, SCHEMA)


def downgrade() -> None:
    drop_outbox_traceparent(op, SCHEMA)
