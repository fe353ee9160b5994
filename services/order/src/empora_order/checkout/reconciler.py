"""The reconciler: settles pending orders whose lease expired, finishes stalled refunds and
purges old Idempotency-Keys. Runs in every instance; leases keep them from sharing work."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import delete

from empora_order.checkout import repository as repo
from empora_order.checkout.service import CheckoutService, utcnow
from empora_order.idempotency.models import idempotency_key
from empora_order.orders.service import Cancellations
from empora_order.settings import OrderSettings

log = structlog.get_logger("empora.order.reconciler")

PURGE_EVERY_SECONDS = 600.0


async def reconcile_once(
    settings: OrderSettings, checkout: CheckoutService, cancellations: Cancellations
) -> int:
    """One pass; returns how many orders and refunds it settled."""
    now = utcnow()
    async with checkout.sessionmaker() as session, session.begin():
        order_ids = await repo.claim_expired(
            session,
            now,
            now + timedelta(seconds=settings.checkout_lease_seconds),
            settings.reconciler_batch,
        )
    done = 0
    for order_id in order_ids:
        try:
            await checkout.recover(order_id)
            done += 1
        except Exception as exc:
            log.warning("recover_failed", order_id=str(order_id), error=str(exc))
    stalled = await cancellations.stalled_refunds(
        timedelta(seconds=settings.checkout_lease_seconds), settings.reconciler_batch
    )
    for order_id, refund_id in stalled:
        try:
            await cancellations.complete_refund(order_id, refund_id)
            done += 1
        except Exception as exc:
            log.warning("refund_retry_failed", order_id=str(order_id), error=str(exc))
    return done


async def purge_keys(checkout: CheckoutService, retention: timedelta) -> None:
    """Forget Idempotency-Keys older than the retention (at least 24 h)."""
    async with checkout.sessionmaker() as session, session.begin():
        await session.execute(
            delete(idempotency_key).where(idempotency_key.c.created_at < utcnow() - retention)
        )


async def reconciler_loop(state: dict[str, Any]) -> None:
    """Background loop of the service (run when workers run)."""
    settings: OrderSettings = state["settings"]
    checkout: CheckoutService = state["checkout"]
    cancellations: Cancellations = state["cancellations"]
    loop = asyncio.get_running_loop()
    last_purge = 0.0
    while True:
        try:
            await reconcile_once(settings, checkout, cancellations)
            if loop.time() - last_purge > PURGE_EVERY_SECONDS:
                last_purge = loop.time()
                await purge_keys(checkout, timedelta(hours=settings.idempotency_retention_hours))
        except Exception as exc:
            log.warning("reconciler_pass_failed", error=str(exc))
        await asyncio.sleep(settings.reconciler_interval)
