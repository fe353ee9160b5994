"""SQL of refresh-token families and tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from empora_auth.orm import driver_connection
from empora_auth.tokens.models import RefreshFamily, RefreshToken

_family = cast("Table", RefreshFamily.__table__)
_token = cast("Table", RefreshToken.__table__)

# One round trip for a login's family and first token (foreign keys are checked at the end
# of the statement, when the family row exists).
_START_FAMILY_SQL = (
    f"WITH family AS (INSERT INTO {_family.fullname} (id, user_id, created_at, expires_at)"
    " VALUES ($1, $2, $3, $4) RETURNING id)"
    f" INSERT INTO {_token.fullname} (id, family_id, token_hash, created_at)"
    " SELECT $5, family.id, $6, $3 FROM family"
)


@dataclass(frozen=True, slots=True)
class ClaimedToken:
    """A refresh token that was just marked used, with its family."""

    token_id: uuid.UUID
    family_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime
    revoked_at: datetime | None


async def start_family(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    token_hash: bytes,
    now: datetime,
    expires_at: datetime,
) -> uuid.UUID:
    """A new family (one per login) with its first token, in one statement."""
    family_id = uuid.uuid4()
    await (await driver_connection(session)).execute(
        _START_FAMILY_SQL, family_id, user_id, now, expires_at, uuid.uuid4(), token_hash
    )
    return family_id


async def create_family(
    session: AsyncSession, *, user_id: uuid.UUID, now: datetime, expires_at: datetime
) -> uuid.UUID:
    """A new family (one per login)."""
    family_id = uuid.uuid4()
    await session.execute(
        _family.insert().values(
            id=family_id, user_id=user_id, created_at=now, expires_at=expires_at
        )
    )
    return family_id


async def add_token(
    session: AsyncSession,
    *,
    family_id: uuid.UUID,
    token_hash: bytes,
    parent_id: uuid.UUID | None,
    now: datetime,
) -> uuid.UUID:
    """Store a token's hash in its family."""
    token_id = uuid.uuid4()
    await session.execute(
        _token.insert().values(
            id=token_id,
            family_id=family_id,
            token_hash=token_hash,
            parent_id=parent_id,
            created_at=now,
        )
    )
    return token_id


async def claim(session: AsyncSession, token_hash: bytes, now: datetime) -> ClaimedToken | None:
    """Mark an unused token used, atomically; None when it is unknown or already used.

    Two requests racing with one token serialise on its row: the second finds it used.
    """
    used = (
        await session.execute(
            update(_token)
            .where(_token.c.token_hash == token_hash, _token.c.used_at.is_(None))
            .values(used_at=now)
            .returning(_token.c.id, _token.c.family_id)
        )
    ).first()
    if used is None:
        return None
    family = (
        await session.execute(
            select(_family.c.user_id, _family.c.expires_at, _family.c.revoked_at).where(
                _family.c.id == used.family_id
            )
        )
    ).one()
    return ClaimedToken(
        token_id=used.id,
        family_id=used.family_id,
        user_id=family.user_id,
        expires_at=family.expires_at,
        revoked_at=family.revoked_at,
    )


async def family_of(session: AsyncSession, token_hash: bytes) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(family id, user id) of a stored token, used or not."""
    row = (
        await session.execute(
            select(_token.c.family_id, _family.c.user_id)
            .join(_family, _family.c.id == _token.c.family_id)
            .where(_token.c.token_hash == token_hash)
        )
    ).first()
    return (row.family_id, row.user_id) if row is not None else None


async def revoke_family(
    conn: AsyncSession | AsyncConnection, family_id: uuid.UUID, *, reason: str, now: datetime
) -> None:
    """Revoke one family (every token in it stops working)."""
    await conn.execute(
        update(_family)
        .where(_family.c.id == family_id, _family.c.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    )


async def revoke_user_families(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    reason: str,
    now: datetime,
    keep: uuid.UUID | None = None,
) -> int:
    """Revoke every live family of a user (except ``keep``); returns how many."""
    query = (
        update(_family)
        .where(_family.c.user_id == user_id, _family.c.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    )
    if keep is not None:
        query = query.where(_family.c.id != keep)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired(conn: AsyncConnection, cutoff: datetime) -> int:
    """Delete families (and their tokens) that expired before ``cutoff``."""
    result = await conn.execute(delete(_family).where(_family.c.expires_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
