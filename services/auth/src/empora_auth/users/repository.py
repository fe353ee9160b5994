"""SQL of user accounts. Deleted accounts are invisible to every query here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Table, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from empora_auth.orm import driver_connection
from empora_auth.users.models import User
from empora_common.pagination import PageParams

_CREDENTIALS_SQL = (
    "SELECT id, email, password_hash, roles, email_verified, is_active, valid_after"
    f" FROM {cast(Table, User.__table__).fullname} WHERE email = $1 AND deleted_at IS NULL"
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a login needs to know about an account."""

    id: uuid.UUID
    email: str
    password_hash: str
    roles: list[str]
    email_verified: bool
    is_active: bool
    valid_after: int


async def credentials(session: AsyncSession, email: str) -> Credentials | None:
    """The login view of a live account by normalised email (the login hot path)."""
    row = await (await driver_connection(session)).fetchrow(_CREDENTIALS_SQL, email)
    return Credentials(**dict(row)) if row is not None else None


async def set_password_hash(session: AsyncSession, user_id: uuid.UUID, password_hash: str) -> None:
    """Replace an account's password hash (a rehash on login)."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """A live (not deleted) account by id."""
    result = await session.execute(
        select(User).where(User.id == user_id, User.deleted_at.is_(None))
    )
    return result.scalar_one_or_none()


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    """A live account by normalised email."""
    result = await session.execute(
        select(User).where(User.email == email, User.deleted_at.is_(None))
    )
    return result.scalar_one_or_none()


async def email_taken(session: AsyncSession, email: str) -> bool:
    """True when a live account uses this normalised email."""
    query = select(exists().where(User.email == email, User.deleted_at.is_(None)))
    return bool((await session.execute(query)).scalar_one())


async def add(session: AsyncSession, user: User) -> User:
    """Insert an account (flushes, so database errors surface here)."""
    session.add(user)
    await session.flush()
    return user


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    session: AsyncSession, params: PageParams, q: str | None = None
) -> tuple[list[User], int]:
    """A page of live accounts, newest first (ties by id), optionally matching ``q``."""
    conditions: list[ColumnElement[bool]] = [User.deleted_at.is_(None)]
    if q:
        pattern = _like_pattern(q)
        full_name = func.concat_ws(" ", User.first_name, User.last_name)
        conditions.append(
            or_(
                User.email.ilike(pattern, escape="\\"),
                User.first_name.ilike(pattern, escape="\\"),
                User.last_name.ilike(pattern, escape="\\"),
                full_name.ilike(pattern, escape="\\"),
            )
        )
    total = (
        await session.execute(select(func.count()).select_from(User).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(User)
        .where(*conditions)
        .order_by(User.created_at.desc(), User.id.desc())
        .limit(params.limit)
        .offset(params.offset)
    )
    return list(rows.scalars()), int(total)
