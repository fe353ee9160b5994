"""Background loop releasing expired, uncommitted reservations."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_common.db import driver_connection
from empora_product.settings import ProductSettings
from empora_product.stock import service

log = structlog.get_logger("empora.product.sweeper")


async def sweep_once(sessionmaker: async_sessionmaker[AsyncSession], batch: int) -> int:
    """Release one batch of expired reservations in its own transaction."""
    async with sessionmaker() as session, session.begin():
        return await service.sweep_expired(await driver_connection(session), batch)


async def reservation_sweeper(state: dict[str, Any]) -> None:
    """Run forever: sweep, then sleep unless the batch was full."""
    settings: ProductSettings = state["settings"]
    sessionmaker: async_sessionmaker[AsyncSession] = state["sessionmaker"]
    while True:
        try:
            released = await sweep_once(sessionmaker, settings.reservation_sweep_batch)
        except Exception as exc:  # the database may be away: try again later
            log.warning("reservation_sweep_failed", error=str(exc))
            released = 0
        if released:
            log.info("reservations_expired", count=released)
        if released < settings.reservation_sweep_batch:
            await asyncio.sleep(settings.reservation_sweep_interval)
