"""SQL of single-use emailed tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from empora_auth.links.models import OneTimeToken, Purpose

_table = cast("Table", OneTimeToken.__table__)


async def create(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    purpose: Purpose,
    token_hash: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a token's hash."""
    await session.execute(
        _table.insert().values(
            id=uuid.uuid4(),
            user_id=user_id,
            purpose=purpose.value,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def find_usable(
    session: AsyncSession, *, token_hash: bytes, purpose: Purpose, now: datetime
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(token id, user id) of an unused, unexpired token of that purpose."""
    row = (
        await session.execute(
            select(_table.c.id, _table.c.user_id).where(
                _table.c.token_hash == token_hash,
                _table.c.purpose == purpose.value,
                _table.c.used_at.is_(None),
                _table.c.expires_at > now,
            )
        )
    ).first()
    return (row.id, row.user_id) if row is not None else None


async def consume(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> bool:
    """Use a token up, atomically: False when someone else used it first (or it expired)."""
    row = (
        await session.execute(
            update(_table)
            .where(_table.c.id == token_id, _table.c.used_at.is_(None), _table.c.expires_at > now)
            .values(used_at=now)
            .returning(_table.c.id)
        )
    ).first()
    return row is not None


async def consume_all(
    session: AsyncSession, *, user_id: uuid.UUID, purpose: Purpose, now: datetime
) -> None:
    """Use up every outstanding token of a user for one purpose (after one succeeded)."""
    await session.execute(
        update(_table)
        .where(
            _table.c.user_id == user_id,
            _table.c.purpose == purpose.value,
            _table.c.used_at.is_(None),
        )
        .values(used_at=now)
    )


async def purge_expired(conn: AsyncConnection, cutoff: datetime) -> int:
    """Delete tokens that expired before ``cutoff``."""
    result = await conn.execute(delete(_table).where(_table.c.expires_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
