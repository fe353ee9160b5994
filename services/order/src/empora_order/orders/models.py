"""Tables of orders, their lines and their status history."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from empora_order.database import metadata

ORDER_STATUSES = ("pending", "paid", "payment_failed", "shipped", "delivered", "cancelled")

order = sa.Table(
    "order",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("customer_email", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("cart_id", sa.Uuid),
    sa.Column("cart_version", sa.BigInteger),
    sa.Column("reservation_id", sa.Uuid, nullable=False),
    # The cart lines as read at checkout, so a resumed checkout reserves the same lines.
    sa.Column("requested_items", JSONB, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("subtotal", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("shipping", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("shipping_address", JSONB, nullable=False),
    sa.Column("tracking_number", sa.Text),
    # Set once the lines are priced (reserved); the lines exist from then on.
    sa.Column("priced_at", sa.DateTime(timezone=True)),
    # Whoever holds an unexpired lease drives a pending order; nobody else touches it.
    sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        "status IN ('pending', 'paid', 'payment_failed', 'shipped', 'delivered', 'cancelled')",
        name="status",
    ),
    sa.CheckConstraint("total = subtotal + shipping", name="total"),
    # One cart version is bought at most once; a failed payment frees it for another try.
    sa.Index(
        "uq_order_cart_guard",
        "cart_id",
        "cart_version",
        unique=True,
        postgresql_where=sa.text("status <> 'payment_failed'"),
    ),
    sa.Index("ix_order_user_id_created_at", "user_id", "created_at"),
    sa.Index("ix_order_created_at", "created_at"),
    sa.Index(
        "ix_order_pending_lease",
        "lease_expires_at",
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

order_line = sa.Table(
    "order_line",
    metadata,
    sa.Column("order_id", sa.Uuid, sa.ForeignKey(order.c.id, ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("product_id", sa.Uuid, nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("unit_price", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("line_total", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("order_id", "position"),
    sa.CheckConstraint("quantity > 0", name="quantity"),
    sa.CheckConstraint("line_total = unit_price * quantity", name="line_total"),
)

status_history = sa.Table(
    "status_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey(order.c.id, ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    # Who made the change: "user:<id>", "admin:<id>" or "system:<component>".
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_status_history_order_id", "order_id", "id"),
)
