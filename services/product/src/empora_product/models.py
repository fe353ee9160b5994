"""Tables of the product schema (SQLAlchemy Core); the migrations create the same shapes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

from empora_common.db import make_metadata
from empora_common.messaging.tables import inbox_table, outbox_table

SCHEMA = "product"

metadata = make_metadata(SCHEMA)

_now = sa.func.now()
_uuid_default = sa.text("gen_random_uuid()")

category = sa.Table(
    "category",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=_uuid_default),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("parent_id", UUID(as_uuid=True), sa.ForeignKey("category.id")),
    # Materialised path "/<root id>/.../<own id>/": descendants share it as a prefix.
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Index("ix_category_parent_id", "parent_id"),
    sa.Index("ix_category_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
)

product = sa.Table(
    "product",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=_uuid_default),
    sa.Column("sku", sa.Text, nullable=False, unique=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("price_amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("category_id", UUID(as_uuid=True), sa.ForeignKey("category.id")),
    sa.Column("images", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column(
        "search_vector",
        TSVECTOR,
        sa.Computed(
            "setweight(to_tsvector('english', coalesce(name, '')), 'A')"
            " || setweight(to_tsvector('english', coalesce(description, '')), 'B')",
            persisted=True,
        ),
    ),
    sa.CheckConstraint("price_amount >= 0", name="price_not_negative"),
)

stock = sa.Table(
    "stock",
    metadata,
    sa.Column(
        "product_id",
        UUID(as_uuid=True),
        sa.ForeignKey("product.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # BIGINT: repeated large deliveries can never overflow.
    sa.Column("on_hand", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    # The last line of defence: no code path can oversell or make stock negative.
    sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    sa.CheckConstraint("on_hand >= reserved", name="on_hand_covers_reserved"),
)

stock_movement = sa.Table(
    "stock_movement",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "product_id",
        UUID(as_uuid=True),
        sa.ForeignKey("product.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # initial | set | adjustment | commit | return
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("delta", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reference", sa.Text),
    sa.Column("on_hand_after", sa.BigInteger, nullable=False),
    sa.Column("reserved_after", sa.BigInteger, nullable=False),
    sa.Column("actor_id", UUID(as_uuid=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Index("ix_stock_movement_product_id_id", "product_id", "id"),
)

reservation = sa.Table(
    "reservation",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("order_id", UUID(as_uuid=True)),
    # active | committed | released | expired
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("committed_at", sa.DateTime(timezone=True)),
    sa.Column("released_at", sa.DateTime(timezone=True)),
    sa.Index(
        "ix_reservation_active_expires_at",
        "expires_at",
        postgresql_where=sa.text("status = 'active'"),
    ),
    sa.Index("ix_reservation_order_id", "order_id"),
)

reservation_line = sa.Table(
    "reservation_line",
    metadata,
    sa.Column(
        "reservation_id",
        UUID(as_uuid=True),
        sa.ForeignKey("reservation.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("product_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("unit_price_amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
)

stock_return = sa.Table(
    "stock_return",
    metadata,
    sa.Column("order_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

# Listing and search indexes (partial on active products, each with the tie-breakers of
# its sort, so a page is read in index order). Declared here so autogenerate stays quiet.
sa.Index(
    "ix_product_active_created",
    product.c.created_at.desc(),
    product.c.id,
    postgresql_where=product.c.is_active,
)
sa.Index(
    "ix_product_active_price",
    product.c.price_amount,
    product.c.created_at.desc(),
    product.c.id,
    postgresql_where=product.c.is_active,
)
sa.Index(
    "ix_product_active_price_desc",
    product.c.price_amount.desc(),
    product.c.created_at.desc(),
    product.c.id,
    postgresql_where=product.c.is_active,
)
sa.Index(
    "ix_product_active_name",
    product.c.name,
    product.c.created_at.desc(),
    product.c.id,
    postgresql_where=product.c.is_active,
)
sa.Index(
    "ix_product_active_category",
    product.c.category_id,
    product.c.created_at.desc(),
    product.c.id,
    postgresql_where=product.c.is_active,
)
sa.Index("ix_product_category_id", product.c.category_id)
sa.Index("ix_product_search_vector", product.c.search_vector, postgresql_using="gin")
sa.Index(
    "ix_product_name_trgm",
    product.c.name,
    postgresql_using="gin",
    postgresql_ops={"name": "gin_trgm_ops"},
)
sa.Index(
    "ix_stock_in_stock",
    stock.c.product_id,
    postgresql_where=stock.c.on_hand > stock.c.reserved,
)
