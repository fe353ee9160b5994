"""Initial auth schema: users, refresh-token families, one-time tokens, signing keys,
outbox and inbox.

Revision ID: 2026_11_25_initial
Revises:
Create Date: 2026-11-25 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from empora_common.messaging.tables import create_messaging_tables, drop_messaging_tables

revision: str = "2026_11_25_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "auth"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column(
            "roles",
            ARRAY(sa.Text()),
            server_default=sa.text("'{customer}'::text[]"),
            nullable=False,
        ),
        sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("valid_after", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_user_account"),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_user_account_email",
        "user_account",
        ["email"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_user_account_created_at_id", "user_account", ["created_at", "id"], schema=SCHEMA
    )

    op.create_table(
        "refresh_family",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            [f"{SCHEMA}.user_account.id"],
            name="fk_refresh_family_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_family"),
        schema=SCHEMA,
    )
    op.create_index("ix_refresh_family_user_id", "refresh_family", ["user_id"], schema=SCHEMA)
    op.create_index("ix_refresh_family_expires_at", "refresh_family", ["expires_at"], schema=SCHEMA)

    op.create_table(
        "refresh_token",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("family_id", UUID(as_uuid=True), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("parent_id", UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["family_id"],
            [f"{SCHEMA}.refresh_family.id"],
            name="fk_refresh_token_family_id_refresh_family",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_token"),
        sa.UniqueConstraint("token_hash", name="uq_refresh_token_token_hash"),
        schema=SCHEMA,
    )
    op.create_index("ix_refresh_token_family_id", "refresh_token", ["family_id"], schema=SCHEMA)

    op.create_table(
        "one_time_token",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.CheckConstraint(
            "purpose IN ('verify_email', 'reset_password')",
            name="ck_one_time_token_purpose_known",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            [f"{SCHEMA}.user_account.id"],
            name="fk_one_time_token_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_one_time_token"),
        sa.UniqueConstraint("token_hash", name="uq_one_time_token_token_hash"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_one_time_token_user_id_purpose",
        "one_time_token",
        ["user_id", "purpose"],
        schema=SCHEMA,
    )
    op.create_index("ix_one_time_token_expires_at", "one_time_token", ["expires_at"], schema=SCHEMA)

    op.create_table(
        "signing_key",
        sa.Column("kid", sa.Text(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("public_jwk", JSONB(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("activates_at", TS, nullable=True),
        sa.Column("retired_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_key"),
        schema=SCHEMA,
    )

    create_messaging_tables(op, SCHEMA)


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    op.drop_table("signing_key", schema=SCHEMA)
    op.drop_table("one_time_token", schema=SCHEMA)
    op.drop_table("refresh_token", schema=SCHEMA)
    op.drop_table("refresh_family", schema=SCHEMA)
    op.drop_table("user_account", schema=SCHEMA)
