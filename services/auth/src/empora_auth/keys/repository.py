"""SQL of the signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from empora_auth.keys.models import SigningKeyRow

_table = cast("Table", SigningKeyRow.__table__)

# One lock for everything that creates or rotates keys, so two instances starting at once
# (or a rotation racing a start) never create two "current" keys.
_LOCK_SQL = text("SELECT pg_advisory_xact_lock(hashtext('empora.auth.signing_key'))")


async def lock(conn: AsyncConnection) -> None:
    """Take the key-management lock until the end of the transaction."""
    await conn.execute(_LOCK_SQL)


async def all_rows(conn: AsyncConnection) -> list[Any]:
    """Every stored key, oldest first."""
    result = await conn.execute(select(_table).order_by(_table.c.created_at, _table.c.kid))
    return list(result.all())


async def count(conn: AsyncConnection) -> int:
    """How many keys are stored."""
    return int((await conn.execute(select(func.count()).select_from(_table))).scalar_one())


async def insert(
    conn: AsyncConnection,
    *,
    kid: str,
    private_key_pem: str,
    public_jwk: dict[str, Any],
    created_at: datetime,
    activates_at: datetime | None,
) -> None:
    """Store a new key."""
    await conn.execute(
        _table.insert().values(
            kid=kid,
            private_key_pem=private_key_pem,
            public_jwk=public_jwk,
            created_at=created_at,
            activates_at=activates_at,
        )
    )


async def schedule(
    conn: AsyncConnection, *, kid: str, activates_at: datetime, retire: list[str]
) -> None:
    """Make ``kid`` sign from ``activates_at``; the keys in ``retire`` stop then."""
    await conn.execute(update(_table).where(_table.c.kid == kid).values(activates_at=activates_at))
    if retire:
        await conn.execute(
            update(_table)
            .where(_table.c.kid.in_(retire), _table.c.retired_at.is_(None))
            .values(retired_at=activates_at)
        )


async def delete_retired_before(conn: AsyncConnection, cutoff: datetime) -> int:
    """Forget keys retired before ``cutoff`` (their tokens have expired)."""
    result = await conn.execute(delete(_table).where(_table.c.retired_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
