"""Initial order schema: orders, lines, status history, payments, refunds, idempotency keys,
the test provider's ledger, outbox and inbox.

Revision ID: order_0001
Revises:
Create Date: 2026-11-25 09:51:37.498276
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from empora_common.messaging.tables import create_messaging_tables, drop_messaging_tables

revision: str = "order_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "order"


def upgrade() -> None:
    create_messaging_tables(op, SCHEMA)
    op.create_table(
        "idempotency_key",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(key) <= 255", name=op.f("ck_idempotency_key_key_length")),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_key")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_idempotency_key_created_at",
        "idempotency_key",
        ["created_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(
        "ix_idempotency_key_order_id", "idempotency_key", ["order_id"], unique=False, schema=SCHEMA
    )
    op.create_table(
        "order",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("customer_email", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("cart_id", sa.Uuid(), nullable=True),
        sa.Column("cart_version", sa.BigInteger(), nullable=True),
        sa.Column("reservation_id", sa.Uuid(), nullable=False),
        sa.Column("requested_items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("shipping", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("shipping_address", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tracking_number", sa.Text(), nullable=True),
        sa.Column("priced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'payment_failed', 'shipped', 'delivered', 'cancelled')",
            name=op.f("ck_order_status"),
        ),
        sa.CheckConstraint("total = subtotal + shipping", name=op.f("ck_order_total")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order")),
        sa.UniqueConstraint("number", name=op.f("uq_order_number")),
        schema=SCHEMA,
    )
    op.create_index("ix_order_created_at", "order", ["created_at"], unique=False, schema=SCHEMA)
    op.create_index(
        "ix_order_pending_lease",
        "order",
        ["lease_expires_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_order_user_id_created_at",
        "order",
        ["user_id", "created_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(
        "uq_order_cart_guard",
        "order",
        ["cart_id", "cart_version"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status <> 'payment_failed'"),
    )
    op.create_table(
        "test_provider_charge",
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("decline_code", sa.Text(), nullable=True),
        sa.Column("charge_reference", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('capture', 'refund')", name=op.f("ck_test_provider_charge_kind")
        ),
        sa.CheckConstraint(
            "status IN ('captured', 'declined', 'voided', 'refunded')",
            name=op.f("ck_test_provider_charge_status"),
        ),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_test_provider_charge")),
        sa.UniqueConstraint("reference", name=op.f("uq_test_provider_charge_reference")),
        schema=SCHEMA,
    )
    op.create_table(
        "order_line",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("line_total", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "line_total = unit_price * quantity", name=op.f("ck_order_line_line_total")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_line_quantity")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["order.order.id"],
            name=op.f("fk_order_line_order_id_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "position", name=op.f("pk_order_line")),
        schema=SCHEMA,
    )
    op.create_table(
        "payment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("decline_code", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'captured', 'declined', 'refunded', 'failed')",
            name=op.f("ck_payment_status"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["order.order.id"],
            name=op.f("fk_payment_order_id_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_idempotency_key")),
        sa.UniqueConstraint("order_id", "attempt", name=op.f("uq_payment_order_id_attempt")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_payment_user_declines",
        "payment",
        ["user_id", "created_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'declined'"),
    )
    op.create_table(
        "status_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["order.order.id"],
            name=op.f("fk_status_history_order_id_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_history")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_status_history_order_id",
        "status_history",
        ["order_id", "id"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "refund",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_refund_status")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["order.order.id"],
            name=op.f("fk_refund_order_id_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["order.payment.id"],
            name=op.f("fk_refund_payment_id_payment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_refund_idempotency_key")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_refund_pending",
        "refund",
        ["created_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    op.drop_index(
        "ix_refund_pending",
        table_name="refund",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("refund", schema=SCHEMA)
    op.drop_index("ix_status_history_order_id", table_name="status_history", schema=SCHEMA)
    op.drop_table("status_history", schema=SCHEMA)
    op.drop_index(
        "ix_payment_user_declines",
        table_name="payment",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'declined'"),
    )
    op.drop_table("payment", schema=SCHEMA)
    op.drop_table("order_line", schema=SCHEMA)
    op.drop_table("test_provider_charge", schema=SCHEMA)
    op.drop_index(
        "uq_order_cart_guard",
        table_name="order",
        schema=SCHEMA,
        postgresql_where=sa.text("status <> 'payment_failed'"),
    )
    op.drop_index("ix_order_user_id_created_at", table_name="order", schema=SCHEMA)
    op.drop_index(
        "ix_order_pending_lease",
        table_name="order",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_order_created_at", table_name="order", schema=SCHEMA)
    op.drop_table("order", schema=SCHEMA)
    op.drop_index("ix_idempotency_key_order_id", table_name="idempotency_key", schema=SCHEMA)
    op.drop_index("ix_idempotency_key_created_at", table_name="idempotency_key", schema=SCHEMA)
    op.drop_table("idempotency_key", schema=SCHEMA)
