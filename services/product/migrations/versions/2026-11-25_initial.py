"""Initial product schema: categories, products, stock, movements, reservations, outbox/inbox.

Revision ID: product_0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

from empora_common.messaging.tables import create_messaging_tables, drop_messaging_tables

revision: str = "product_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "product"


def upgrade() -> None:
    # Trigram similarity for typo-tolerant search (a trusted extension since PostgreSQL 13).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")

    op.create_table(
        "category",
        sa.Column(
            "id", UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("parent_id", UUID(as_uuid=True)),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("depth", sa.Integer, server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_category"),
        sa.UniqueConstraint("slug", name="uq_category_slug"),
        sa.ForeignKeyConstraint(
            ["parent_id"], [f"{SCHEMA}.category.id"], name="fk_category_parent_id_category"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_category_parent_id", "category", ["parent_id"], schema=SCHEMA)
    op.create_index(
        "ix_category_path",
        "category",
        ["path"],
        schema=SCHEMA,
        postgresql_ops={"path": "text_pattern_ops"},
    )

    op.create_table(
        "product",
        sa.Column(
            "id", UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, server_default="", nullable=False),
        sa.Column("price_amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("category_id", UUID(as_uuid=True)),
        sa.Column("images", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("attributes", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("is_active", sa.Boolean, server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "search_vector",
            TSVECTOR,
            sa.Computed(
                "setweight(to_tsvector('english', coalesce(name, '')), 'A')"
                " || setweight(to_tsvector('english', coalesce(description, '')), 'B')",
                persisted=True,
            ),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_product"),
        sa.UniqueConstraint("sku", name="uq_product_sku"),
        sa.UniqueConstraint("slug", name="uq_product_slug"),
        sa.ForeignKeyConstraint(
            ["category_id"], [f"{SCHEMA}.category.id"], name="fk_product_category_id_category"
        ),
        sa.CheckConstraint("price_amount >= 0", name="ck_product_price_not_negative"),
        schema=SCHEMA,
    )
    op.execute(
        f'CREATE INDEX ix_product_active_created ON "{SCHEMA}".product (created_at DESC, id) WHERE is_active'
    )
    op.execute(
        f'CREATE INDEX ix_product_active_price ON "{SCHEMA}".product (price_amount, created_at DESC, id) WHERE is_active'
    )
    op.execute(
        f'CREATE INDEX ix_product_active_price_desc ON "{SCHEMA}".product (price_amount DESC, created_at DESC, id) WHERE is_active'
    )
    op.execute(
        f'CREATE INDEX ix_product_active_name ON "{SCHEMA}".product (name, created_at DESC, id) WHERE is_active'
    )
    op.execute(
        f'CREATE INDEX ix_product_active_category ON "{SCHEMA}".product (category_id, created_at DESC, id) WHERE is_active'
    )
    op.create_index("ix_product_category_id", "product", ["category_id"], schema=SCHEMA)
    op.create_index(
        "ix_product_search_vector",
        "product",
        ["search_vector"],
        schema=SCHEMA,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_product_name_trgm",
        "product",
        ["name"],
        schema=SCHEMA,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )

    op.create_table(
        "stock",
        sa.Column("product_id", UUID(as_uuid=True), nullable=False),
        sa.Column("on_hand", sa.BigInteger, server_default="0", nullable=False),
        sa.Column("reserved", sa.BigInteger, server_default="0", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("product_id", name="pk_stock"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            [f"{SCHEMA}.product.id"],
            name="fk_stock_product_id_product",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("reserved >= 0", name="ck_stock_reserved_not_negative"),
        sa.CheckConstraint("on_hand >= reserved", name="ck_stock_on_hand_covers_reserved"),
        schema=SCHEMA,
    )
    op.execute(
        f'CREATE INDEX ix_stock_in_stock ON "{SCHEMA}".stock (product_id) WHERE on_hand > reserved'
    )

    op.create_table(
        "stock_movement",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("product_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reference", sa.Text),
        sa.Column("on_hand_after", sa.BigInteger, nullable=False),
        sa.Column("reserved_after", sa.BigInteger, nullable=False),
        sa.Column("actor_id", UUID(as_uuid=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stock_movement"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            [f"{SCHEMA}.product.id"],
            name="fk_stock_movement_product_id_product",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_stock_movement_product_id_id", "stock_movement", ["product_id", "id"], schema=SCHEMA
    )

    op.create_table(
        "reservation",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("order_id", UUID(as_uuid=True)),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("committed_at", sa.DateTime(timezone=True)),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_reservation"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_reservation_active_expires_at",
        "reservation",
        ["expires_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_reservation_order_id", "reservation", ["order_id"], schema=SCHEMA)

    op.create_table(
        "reservation_line",
        sa.Column("reservation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("product_id", UUID(as_uuid=True), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("unit_price_amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("reservation_id", "product_id", name="pk_reservation_line"),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            [f"{SCHEMA}.reservation.id"],
            name="fk_reservation_line_reservation_id_reservation",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("quantity > 0", name="ck_reservation_line_quantity_positive"),
        schema=SCHEMA,
    )

    op.create_table(
        "stock_return",
        sa.Column("order_id", UUID(as_uuid=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("order_id", name="pk_stock_return"),
        schema=SCHEMA,
    )

    create_messaging_tables(op, SCHEMA)


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    op.drop_table("stock_return", schema=SCHEMA)
    op.drop_table("reservation_line", schema=SCHEMA)
    op.drop_table("reservation", schema=SCHEMA)
    op.drop_table("stock_movement", schema=SCHEMA)
    op.drop_table("stock", schema=SCHEMA)
    op.drop_table("product", schema=SCHEMA)
    op.drop_table("category", schema=SCHEMA)
    # pg_trgm is left installed on purpose: an extension belongs to the whole database, and
    # other schemas may use it; CREATE EXTENSION IF NOT EXISTS makes a later upgrade a no-op.
