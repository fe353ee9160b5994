"""Crashes and timeouts mid-checkout, recovered by the reconciler or a retry with the same key.

A crash is simulated precisely: the test runs the checkout's committed steps itself and stops
between two of them, leaving the database, the ledger and the stock as a killed process would
(its lease still set), then lets the lease expire. (A real SIGKILL is in the platform tests.)
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from order_testkit import ADDRESS, Api, Buyer, CartStandIn, ProductStandIn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from empora_common.db import plain_connection
from empora_common.http import InternalClient
from empora_common.security import Principal
from empora_order.checkout import repository as repo
from empora_order.checkout.clients import CartClient, ProductClient
from empora_order.checkout.reconciler import reconcile_once
from empora_order.checkout.service import CheckoutService
from empora_order.idempotency.keys import fingerprint
from empora_order.models import order, outbox, payment, refund, test_provider_charge
from empora_order.orders import repository as orders_repo
from empora_order.orders.records import OrderRecord
from empora_order.orders.schemas import CheckoutIn
from empora_order.orders.service import Cancellations
from empora_order.payments.provider import ChargeStatus
from empora_order.payments.test_provider import TestProvider
from empora_order.settings import OrderSettings

BODY: dict[str, Any] = {"shipping_address": ADDRESS, "payment": {"token": "tok_visa"}}


def principal(buyer: Buyer) -> Principal:
    return Principal(buyer.id, buyer.email, True, ("customer",), "jti", 0, 2**31)


async def crashed_checkout(
    service: CheckoutService, buyer: Buyer, *, stop_after: str, key: str = "crash"
) -> OrderRecord:
    """Run a checkout's steps up to ``stop_after`` ("claim", "price", "capture") and stop."""
    body = CheckoutIn.model_validate(BODY)
    cart = await service.carts.read(buyer.id)
    now = datetime.now(UTC)
    rec = service._new_order(principal(buyer), cart, body, now)
    async with plain_connection(service.engine) as db:
        claimed = await repo.claim(
            db,
            user_id=buyer.id,
            key=key,
            fingerprint=fingerprint("POST", "/api/orders", body.model_dump(mode="json")),
            now=now,
            new_order=rec,
            lease_until=now + timedelta(seconds=60),
            response=None,
            decline_since=now - timedelta(hours=1),
            decline_limit=5,
        )
    assert claimed.claimed
    if stop_after != "claim":
        assert await service._reserve_and_price(rec, None) is None
    if stop_after == "capture":
        assert rec.payment is not None
        charge = await service.provider.capture(
            rec.payment.idempotency_key, amount=rec.total, currency="USD", token="tok_visa"
        )
        assert charge.captured
    return rec


async def expire_leases(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(order).values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def load(sessionmaker: async_sessionmaker[AsyncSession], order_id: uuid.UUID) -> Any:
    async with sessionmaker() as session:
        return await orders_repo.load(session, order_id)


async def events_of(engine: AsyncEngine, order_id: uuid.UUID) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.event_type).where(outbox.c.aggregate_id == str(order_id))
        )
        return sorted(rows.scalars())


@pytest.fixture
async def stocked(api: Api, products: ProductStandIn, carts: CartStandIn) -> tuple[Buyer, str]:
    buyer = api.buyer()
    pid = products.add(price=2000, stock=3)
    carts.put(buyer.id, pid, 1)
    return buyer, pid


class TestReconcilerAfterCrashBetweenCaptureAndCommit:
    async def test_completes_the_order_commits_stock_and_subtracts_cart(
        self,
        checkout_service: CheckoutService,
        cancellations: Cancellations,
        settings: OrderSettings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        stocked: tuple[Buyer, str],
        products: ProductStandIn,
        carts: CartStandIn,
    ) -> None:
        buyer, pid = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="capture")
        await expire_leases(engine)

        settled = await reconcile_once(settings, checkout_service, cancellations)

        after = await load(sessionmaker, rec.id)
        assert settled == 1
        assert after.status == "paid"
        assert after.payment.status == "captured"
        assert after.history[-1].actor == "system:reconciler"
        assert (products.products[pid].on_hand, products.products[pid].reserved) == (2, 0)
        assert carts.items(buyer.id) == {}
        assert await events_of(engine, rec.id) == ["order.created", "order.paid"]

    async def test_retry_with_the_same_key_then_replays_the_paid_order(
        self,
        checkout_service: CheckoutService,
        cancellations: Cancellations,
        settings: OrderSettings,
        engine: AsyncEngine,
        api: Api,
        stocked: tuple[Buyer, str],
    ) -> None:
        buyer, _ = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="capture", key="k-1")
        await expire_leases(engine)
        await reconcile_once(settings, checkout_service, cancellations)

        retry = await api.checkout(buyer, key="k-1")

        assert retry.status == 201
        assert retry.body["id"] == str(rec.id)
        assert retry.headers["Idempotent-Replayed"] == "true"


class TestReconcilerAfterCrashBeforeCapture:
    async def test_voids_the_key_releases_stock_and_fails_the_order(
        self,
        checkout_service: CheckoutService,
        cancellations: Cancellations,
        settings: OrderSettings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        provider: TestProvider,
        stocked: tuple[Buyer, str],
        products: ProductStandIn,
        carts: CartStandIn,
    ) -> None:
        buyer, pid = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="price")
        assert products.products[pid].reserved == 1
        await expire_leases(engine)

        await reconcile_once(settings, checkout_service, cancellations)

        after = await load(sessionmaker, rec.id)
        assert after.status == "payment_failed"
        assert (after.payment.status, after.payment.decline_code) == ("failed", "processing_error")
        assert products.products[pid].reserved == 0
        assert carts.items(buyer.id) == {pid: 1}
        assert rec.payment is not None
        late = await provider.capture(
            rec.payment.idempotency_key, amount=rec.total, currency="USD", token="tok_visa"
        )
        assert late.status == ChargeStatus.VOIDED
        assert await events_of(engine, rec.id) == ["order.created", "order.payment_failed"]

    async def test_an_order_that_never_reserved_is_failed_too(
        self,
        checkout_service: CheckoutService,
        cancellations: Cancellations,
        settings: OrderSettings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        stocked: tuple[Buyer, str],
    ) -> None:
        buyer, _ = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="claim")
        await expire_leases(engine)

        await reconcile_once(settings, checkout_service, cancellations)

        assert (await load(sessionmaker, rec.id)).status == "payment_failed"

    async def test_leaves_orders_with_a_live_lease_alone(
        self,
        checkout_service: CheckoutService,
        cancellations: Cancellations,
        settings: OrderSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        stocked: tuple[Buyer, str],
    ) -> None:
        buyer, _ = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="price")

        settled = await reconcile_once(settings, checkout_service, cancellations)

        assert settled == 0
        assert (await load(sessionmaker, rec.id)).status == "pending"


class TestRetryResumesACrashedCheckout:
    async def test_same_key_after_the_lease_resumes_and_pays_once(
        self,
        checkout_service: CheckoutService,
        engine: AsyncEngine,
        api: Api,
        stocked: tuple[Buyer, str],
        products: ProductStandIn,
    ) -> None:
        buyer, pid = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="price", key="resume")
        await expire_leases(engine)

        retry = await api.checkout(buyer, key="resume")

        assert retry.status == 201, retry.body
        assert retry.body["id"] == str(rec.id)
        assert (products.products[pid].on_hand, products.products[pid].reserved) == (2, 0)
        async with engine.connect() as conn:
            captures = (
                await conn.execute(sa.select(sa.func.count()).select_from(test_provider_charge))
            ).scalar()
        assert captures == 1

    async def test_same_key_while_the_lease_is_live_is_409_in_use(
        self,
        checkout_service: CheckoutService,
        api: Api,
        stocked: tuple[Buyer, str],
    ) -> None:
        buyer, _ = stocked
        await crashed_checkout(checkout_service, buyer, stop_after="price", key="busy")

        retry = await api.checkout(buyer, key="busy")

        assert retry.status == 409
        assert retry.body["type"] == "https://empora.dev/problems/idempotency-key-in-use"


class TestConcurrentSettlers:
    async def test_checkout_and_reconciler_end_an_order_once(
        self,
        checkout_service: CheckoutService,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        stocked: tuple[Buyer, str],
    ) -> None:
        buyer, _ = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="capture")
        assert rec.payment is not None
        charge = await checkout_service.provider.lookup(rec.payment.idempotency_key)
        assert charge is not None

        outcomes = await asyncio.gather(
            checkout_service.conclude(rec, charge, actor="system:checkout"),
            checkout_service.recover(rec.id),
        )

        assert outcomes[0].status == 201
        after = await load(sessionmaker, rec.id)
        assert [h.status for h in after.history] == ["pending", "paid"]
        assert await events_of(engine, rec.id) == ["order.created", "order.paid"]


class TestProviderTimeoutAfterCapture:
    async def test_looks_the_capture_up_and_completes(
        self,
        settings: OrderSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        internal_http: InternalClient,
        stocked: tuple[Buyer, str],
        products: ProductStandIn,
    ) -> None:
        buyer, pid = stocked
        service = CheckoutService(
            settings=settings.model_copy(update={"payment_timeout_seconds": 1.0}),
            sessionmaker=sessionmaker,
            provider=TestProvider(engine, delay_after_capture=5),
            products=ProductClient(internal_http, settings.product_url, 5),
            carts=CartClient(internal_http, settings.cart_url, 5),
        )

        outcome = await service.place(
            principal(buyer), "slow", CheckoutIn.model_validate(BODY), "fp"
        )

        assert outcome.status == 201
        assert outcome.body["payment"]["status"] == "captured"
        assert products.products[pid].on_hand == 2
        async with engine.connect() as conn:
            captures = (
                await conn.execute(sa.select(sa.func.count()).select_from(test_provider_charge))
            ).scalar()
        assert captures == 1


class TestStalledRefund:
    async def test_reconciler_finishes_a_refund_a_crash_left_pending(
        self,
        checkout_service: CheckoutService,
        cancellations: Cancellations,
        settings: OrderSettings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        api: Api,
        stocked: tuple[Buyer, str],
        products: ProductStandIn,
    ) -> None:
        buyer, pid = stocked
        placed = await api.checkout(buyer)
        order_id = uuid.UUID(placed.body["id"])
        rec = await load(sessionmaker, order_id)
        # Step A of a cancel committed, then the process died before refunding.
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(order).where(order.c.id == order_id).values(status="cancelled")
            )
            await conn.execute(
                sa.insert(refund).values(
                    id=uuid.uuid4(),
                    payment_id=rec.payment.id,
                    order_id=order_id,
                    idempotency_key=f"{rec.payment.idempotency_key}:refund",
                    amount=rec.total,
                    currency="USD",
                    status="pending",
                    created_at=datetime.now(UTC) - timedelta(minutes=5),
                )
            )

        await reconcile_once(settings, checkout_service, cancellations)

        after = await load(sessionmaker, order_id)
        assert after.payment.status == "refunded"
        assert products.products[pid].on_hand == 3
        async with engine.connect() as conn:
            statuses = (await conn.execute(sa.select(refund.c.status))).scalars().all()
            captured = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(payment)
                    .where(payment.c.status == "captured")
                )
            ).scalar()
        assert statuses == ["succeeded"]
        assert captured == 0
        assert "order.cancelled" in await events_of(engine, order_id)


class TestOrderNumbers:
    async def test_a_colliding_number_is_drawn_again(
        self,
        checkout_service: CheckoutService,
        api: Api,
        stocked: tuple[Buyer, str],
        products: ProductStandIn,
        carts: CartStandIn,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        first_buyer, pid = stocked
        first = await checkout_service.place(
            principal(first_buyer), "n1", CheckoutIn.model_validate(BODY), "fp"
        )
        taken = first.body["number"]
        draws = iter([taken, "EMP-20261125-FRESH2"])
        monkeypatch.setattr(
            "empora_order.checkout.service.generate_order_number", lambda _now=None: next(draws)
        )
        second_buyer = api.buyer()
        carts.put(second_buyer.id, pid, 1)

        second = await checkout_service.place(
            principal(second_buyer), "n2", CheckoutIn.model_validate(BODY), "fp"
        )

        assert (first.status, second.status) == (201, 201)
        assert second.body["number"] == "EMP-20261125-FRESH2"


class TestStockGoneBeforeTheCommit:
    """A checkout stalled past its reservation's lifetime and the stock was sold meanwhile:
    the capture is refunded and the order cancelled; no stock is taken or put back."""

    async def test_the_order_is_refunded_cancelled_and_the_key_answers_409(
        self,
        checkout_service: CheckoutService,
        cancellations: Cancellations,
        settings: OrderSettings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        stocked: tuple[Buyer, str],
        products: ProductStandIn,
    ) -> None:
        buyer, pid = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="capture")
        products.expire(str(rec.reservation_id))
        products.products[pid].on_hand = 0  # the rest sold to others meanwhile
        await expire_leases(engine)

        assert await reconcile_once(settings, checkout_service, cancellations) == 1

        after = await load(sessionmaker, rec.id)
        assert after.status == "cancelled"
        assert after.payment.status == "refunded"
        assert after.history[-1].actor == "system:checkout"
        assert "refunded" in after.history[-1].note
        async with engine.connect() as conn:
            refunds = (
                await conn.execute(
                    sa.select(refund.c.status, refund.c.amount).where(refund.c.order_id == rec.id)
                )
            ).all()
        assert [tuple(r) for r in refunds] == [("succeeded", after.total)]
        assert await events_of(engine, rec.id) == ["order.cancelled", "order.created", "order.paid"]
        # Released for good (no late commit can take stock), nothing returned or taken.
        assert products.reservations[str(rec.reservation_id)]["status"] == "released"
        assert (products.products[pid].on_hand, products.products[pid].reserved) == (0, 0)
        # The key tells the buyer what happened.
        body = CheckoutIn.model_validate(BODY)
        outcome = await checkout_service.place(
            principal(buyer),
            "crash",
            body,
            fingerprint("POST", "/api/orders", body.model_dump(mode="json")),
        )
        assert outcome.replayed and outcome.status == 409
        assert outcome.body["order_id"] == str(rec.id)
        assert outcome.body["short_lines"][0]["product_id"] == pid
        assert "refunded" in outcome.body["detail"]

    async def test_the_order_stands_when_the_stock_is_there_again(
        self,
        checkout_service: CheckoutService,
        cancellations: Cancellations,
        settings: OrderSettings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        stocked: tuple[Buyer, str],
        products: ProductStandIn,
    ) -> None:
        buyer, pid = stocked
        rec = await crashed_checkout(checkout_service, buyer, stop_after="capture")
        products.expire(str(rec.reservation_id))  # expired, but 3 units still on the shelf
        await expire_leases(engine)

        assert await reconcile_once(settings, checkout_service, cancellations) == 1

        after = await load(sessionmaker, rec.id)
        assert after.status == "paid"
        assert products.reservations[str(rec.reservation_id)]["status"] == "committed"
        assert (products.products[pid].on_hand, products.products[pid].reserved) == (2, 0)
