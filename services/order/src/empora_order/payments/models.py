"""Tables of payment attempts, refunds and the built-in test provider's ledger."""

from __future__ import annotations

import sqlalchemy as sa

from empora_order.database import metadata
from empora_order.orders.models import order

payment = sa.Table(
    "payment",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey(order.c.id, ondelete="CASCADE"), nullable=False),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    # "<order id>:<attempt>": the provider's idempotency key of the capture.
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reference", sa.Text),
    sa.Column("decline_code", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("captured_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("order_id", "attempt"),
    sa.CheckConstraint(
        "status IN ('pending', 'captured', 'declined', 'refunded', 'failed')", name="status"
    ),
    # The card-testing guard counts a user's recent declines.
    sa.Index(
        "ix_payment_user_declines",
        "user_id",
        "created_at",
        postgresql_where=sa.text("status = 'declined'"),
    ),
)

refund = sa.Table(
    "refund",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column(
        "payment_id", sa.Uuid, sa.ForeignKey(payment.c.id, ondelete="CASCADE"), nullable=False
    ),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey(order.c.id, ondelete="CASCADE"), nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reference", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
    sa.Index("ix_refund_pending", "created_at", postgresql_where=sa.text("status = 'pending'")),
)

# The test provider's own books: what a card processor would know. Kept apart from the order
# tables (never joined) so a lookup after a crash tells what the "processor" really did.
test_provider_charge = sa.Table(
    "test_provider_charge",
    metadata,
    sa.Column("idempotency_key", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("token", sa.Text),
    sa.Column("reference", sa.Text, nullable=False, unique=True),
    sa.Column("decline_code", sa.Text),
    # For a refund: the reference of the capture it refunds.
    sa.Column("charge_reference", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('capture', 'refund')", name="kind"),
    sa.CheckConstraint("status IN ('captured', 'declined', 'voided', 'refunded')", name="status"),
)
