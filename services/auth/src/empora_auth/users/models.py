"""The user account table."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from empora_auth.orm import Base


class User(Base):
    """An account. Soft-deleted rows keep their history but leave the API."""

    __tablename__ = "user_account"
    __table_args__ = (
        # Emails are unique among accounts that were not deleted (a deleted address may
        # sign up again); they are stored trimmed and lower-cased.
        sa.Index(
            "uq_user_account_email",
            "email",
            unique=True,
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index("ix_user_account_created_at_id", "created_at", "id"),
    )
    # Fetch server-side timestamps with RETURNING after INSERT/UPDATE.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(sa.Text)
    password_hash: Mapped[str] = mapped_column(sa.Text)
    first_name: Mapped[str | None] = mapped_column(sa.Text)
    last_name: Mapped[str | None] = mapped_column(sa.Text)
    roles: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text), default=lambda: ["customer"], server_default=sa.text("'{customer}'::text[]")
    )
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Epoch second before which this user's access tokens are void (reset, deactivation).
    valid_after: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
