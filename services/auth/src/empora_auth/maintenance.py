"""Background upkeep: expired refresh-token families and emailed tokens are purged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from empora_auth.links import repository as link_repository
from empora_auth.settings import AuthSettings
from empora_auth.tokens import repository as token_repository

log = structlog.get_logger("empora.auth.maintenance")

# Expired rows are kept a day for investigations before they go.
KEEP_EXPIRED = timedelta(days=1)


async def purge_expired(state: dict[str, Any]) -> tuple[int, int]:
    """Delete families and one-time tokens that expired more than a day ago."""
    cutoff = datetime.now(UTC) - KEEP_EXPIRED
    async with state["engine"].begin() as conn:
        families = await token_repository.purge_expired(conn, cutoff)
        links = await link_repository.purge_expired(conn, cutoff)
    if families or links:
        log.info("expired_tokens_purged", families=families, one_time_tokens=links)
    return families, links


async def purge_loop(state: dict[str, Any]) -> None:
    """Purge now and then, forever (a background loop of the service)."""
    settings: AuthSettings = state["settings"]
    while True:
        try:
            await purge_expired(state)
        except Exception as exc:  # the database may be away; try again next time
            log.warning("purge_failed", error=str(exc))
        await asyncio.sleep(settings.purge_interval)
