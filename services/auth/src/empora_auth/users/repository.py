"""SQL of user accounts. Deleted accounts are invisible to every query here."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from empora_auth.users.models import User
from empora_common.pagination import PageParams


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
