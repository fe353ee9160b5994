"""Checkout: the orchestration of orders, stock, payment and cart in committed steps.

0. read the cart (cart service): its id and version feed the guard of step 1;
1. claim the Idempotency-Key and write the order ``pending`` with its payment attempt, guarded
   by a unique (cart id, cart version) so one cart is bought once (one statement);
2. reserve the cart's lines (product service, reservation id = order id) and record the lines
   as priced by the reservation;
3. capture with the key ``<order id>:<attempt>``;
4. commit ``paid`` (or ``payment_failed``) with its event and the key's response, then commit
   the reservation and subtract the cart (both idempotent, both backed up by consumers).

Whoever holds an order's unexpired lease drives it; a crashed or timed-out checkout is resumed
by a retry with the same key or settled by the reconciler. Every step is idempotent, and each
end of a pending order is a guarded update, so two drivers can never end it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from empora_common.db import plain_connection
from empora_common.errors import EmporaError, problem_body
from empora_common.identifiers import generate_order_number
from empora_common.security import Principal
from empora_order.checkout import repository as repo
from empora_order.checkout.clients import (
    CartClient,
    CartView,
    ProductClient,
    Reservation,
    ReservationCommitted,
)
from empora_order.checkout.repository import PaymentOutcome, StoredResponse
from empora_order.orders import events
from empora_order.orders import repository as orders_repo
from empora_order.orders.errors import (
    CartCheckoutInProgress,
    CartEmpty,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    OutOfStock,
    PriceChanged,
    TooManyDeclines,
)
from empora_order.orders.records import (
    HistoryEntry,
    Line,
    OrderRecord,
    OrderStatus,
    PaymentRecord,
    PaymentStatus,
)
from empora_order.orders.schemas import CheckoutIn, order_json
from empora_order.orders.service import Cancellations
from empora_order.payments.errors import PaymentDeclined, PaymentTimeout
from empora_order.payments.provider import ChargeResult, ChargeStatus, PaymentProvider
from empora_order.settings import OrderSettings

log = structlog.get_logger("empora.order.checkout")

CHECKOUT_ACTOR = "system:checkout"
RECONCILER_ACTOR = "system:reconciler"
# What a payment that ended without a decline (voided, never captured) is reported as.
PROCESSING_ERROR = "processing_error"
ORDER_NUMBER_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to a checkout: status, JSON body, whether it is a stored replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)


def problem(error: EmporaError, instance: str = "/api/orders") -> dict[str, Any]:
    """The problem+json body of a domain error (stored for replays)."""
    return problem_body(
        error.status,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        instance=instance,
        extra=error.extra,
    )


def _constraint(exc: IntegrityError | asyncpg.IntegrityConstraintViolationError) -> str:
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return str(exc.constraint_name or exc)
    cause = getattr(exc.orig, "__cause__", None)
    return str(getattr(cause, "constraint_name", "") or exc.orig)


class CheckoutService:
    """Places orders and settles pending ones; one per process, shared by requests."""

    def __init__(
        self,
        *,
        settings: OrderSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        provider: PaymentProvider,
        products: ProductClient,
        carts: CartClient,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.engine: AsyncEngine = sessionmaker.kw["bind"]
        self.provider = provider
        self.products = products
        self.carts = carts

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session, session.begin():
            yield session

    def _plain(self) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
        """A connection for the one-statement steps (each commits by itself)."""
        return plain_connection(self.engine)

    def _lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.checkout_lease_seconds)

    # --- placing an order ------------------------------------------------------------------

    async def place(self, user: Principal, key: str, body: CheckoutIn, fingerprint: str) -> Outcome:
        """``POST /api/orders``: a new checkout, a replay, or the resumption of one."""
        self.provider.validate_token(body.payment.token)
        cart = await self.carts.read(user.user_id)
        now = utcnow()
        decline_since = now - timedelta(seconds=self.settings.decline_window_seconds)
        if not cart.items:
            empty = StoredResponse(422, problem(CartEmpty("Your cart is empty")))
            return await self._answer_without_order(
                user, key, fingerprint, body, now, empty, decline_since
            )
        rec = self._new_order(user, cart, body, now)
        for attempt in range(ORDER_NUMBER_ATTEMPTS):
            try:
                async with self._plain() as db:
                    result = await repo.claim(
                        db,
                        user_id=user.user_id,
                        key=key,
                        fingerprint=fingerprint,
                        now=now,
                        new_order=rec,
                        lease_until=self._lease_until(now),
                        response=None,
                        decline_since=decline_since,
                        decline_limit=self.settings.decline_limit,
                    )
                break
            except (IntegrityError, asyncpg.IntegrityConstraintViolationError) as exc:
                constraint = _constraint(exc)
                if "uq_order_number" in constraint and attempt + 1 < ORDER_NUMBER_ATTEMPTS:
                    rec.number = generate_order_number(now)
                    continue
                if "uq_order_cart_guard" in constraint:
                    return await self._cart_taken(user, key, fingerprint, body, now)
                raise
        if result.claimed:
            return await self.drive(
                rec, token=body.payment.token, expected_total=body.expected_amount
            )
        if result.declines > self.settings.decline_limit:
            async with self.sessionmaker() as session:
                state = await repo.key_state(session, user.user_id, key)
                oldest = await repo.oldest_decline(session, user.user_id, decline_since)
            if state is None:
                retry = self.settings.decline_window_seconds
                if oldest is not None:
                    retry = int((oldest - decline_since).total_seconds()) + 1
                raise TooManyDeclines(
                    retry,
                    "Too many declined payments in the last hour; try again later",
                )
        return await self._existing(user, key, fingerprint, body)

    def _new_order(
        self, user: Principal, cart: CartView, body: CheckoutIn, now: datetime
    ) -> OrderRecord:
        order_id = uuid.uuid4()
        currency = self.settings.store_currency
        return OrderRecord(
            id=order_id,
            number=generate_order_number(now),
            user_id=user.user_id,
            customer_email=user.email,
            status=OrderStatus.PENDING,
            cart_id=cart.id,
            cart_version=cart.version,
            # The order id is the reservation id: a resumed checkout finds the same one.
            reservation_id=order_id,
            requested_items=[
                {"product_id": str(i.product_id), "quantity": i.quantity} for i in cart.items
            ],
            currency=currency,
            subtotal=0,
            shipping=0,
            total=0,
            shipping_address=body.shipping_address.model_dump(mode="json"),
            tracking_number=None,
            priced_at=None,
            created_at=now,
            updated_at=now,
            history=[
                HistoryEntry(
                    status=OrderStatus.PENDING,
                    note="Checkout started",
                    actor=f"user:{user.user_id}",
                    at=now,
                )
            ],
            payment=PaymentRecord(
                id=uuid.uuid4(),
                attempt=1,
                idempotency_key=f"{order_id}:1",
                provider=self.provider.name,
                token=body.payment.token,
                amount=0,
                currency=currency,
                status=PaymentStatus.PENDING,
                reference=None,
                decline_code=None,
                created_at=now,
                updated_at=now,
            ),
        )

    async def _cart_taken(
        self, user: Principal, key: str, fingerprint: str, body: CheckoutIn, now: datetime
    ) -> Outcome:
        """Another checkout holds this cart version: 409, kept for the key."""
        error = CartCheckoutInProgress(
            "This cart is being checked out by another request; reload the cart"
        )
        stored = StoredResponse(error.status, problem(error))
        return await self._answer_without_order(user, key, fingerprint, body, now, stored, now)

    async def _answer_without_order(
        self,
        user: Principal,
        key: str,
        fingerprint: str,
        body: CheckoutIn,
        now: datetime,
        stored: StoredResponse,
        decline_since: datetime,
    ) -> Outcome:
        """Claim the key with a final answer and no order, or defer to its first request."""
        async with self._plain() as db:
            result = await repo.claim(
                db,
                user_id=user.user_id,
                key=key,
                fingerprint=fingerprint,
                now=now,
                new_order=None,
                lease_until=None,
                response=stored,
                decline_since=decline_since,
                decline_limit=self.settings.decline_limit,
            )
        if result.claimed:
            return Outcome(stored.status, stored.body)
        return await self._existing(user, key, fingerprint, body)

    async def _existing(
        self, user: Principal, key: str, fingerprint: str, body: CheckoutIn
    ) -> Outcome:
        """A key seen before: replay, wait for, or resume its checkout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.idempotency_wait_seconds
        delay = 0.02
        while True:
            async with self.sessionmaker() as session:
                state = await repo.key_state(session, user.user_id, key)
            if state is None:
                raise IdempotencyKeyInUse("The request with this key is still being processed")
            if state.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used with a different request body"
                )
            if state.response is not None:
                return Outcome(state.response.status, state.response.body, replayed=True)
            if state.order_id is not None and state.order_status is None:
                raise IdempotencyKeyInUse("The request with this key is still being processed")
            if state.order_id is not None and state.order_status != OrderStatus.PENDING:
                outcome = await self.respond_final(state.order_id)
                return Outcome(outcome.status, outcome.body, replayed=True)
            now = utcnow()
            if state.order_id is not None and (
                state.lease_expires_at is None or state.lease_expires_at < now
            ):
                async with self._tx() as session:
                    taken = await repo.take_lease(
                        session, state.order_id, now, self._lease_until(now)
                    )
                if taken:
                    async with self.sessionmaker() as session:
                        rec = await orders_repo.load(session, state.order_id)
                    assert rec is not None
                    log.info("checkout_resumed", order_id=str(rec.id))
                    return await self.drive(
                        rec, token=body.payment.token, expected_total=body.expected_amount
                    )
            if loop.time() >= deadline:
                raise IdempotencyKeyInUse(
                    "A request with this Idempotency-Key is still being processed"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    # --- driving a pending order to its end ------------------------------------------------

    async def drive(self, rec: OrderRecord, *, token: str, expected_total: int | None) -> Outcome:
        """Reserve, price, capture and conclude a pending order whose lease we hold."""
        try:
            if rec.priced_at is None:
                early = await self._reserve_and_price(rec, expected_total)
                if early is not None:
                    return early
            await self._fault("before_capture")
            charge = await self._capture(rec, token)
            await self._fault("after_capture")
            return await self.conclude(rec, charge, actor=CHECKOUT_ACTOR)
        except BaseException:
            # Not a result we keep (5xx, a bug, a cancelled request): let a retry or the
            # reconciler take the order over at once instead of after the lease.
            with contextlib.suppress(Exception):
                async with self._tx() as session:
                    await repo.release_lease(session, rec.id, utcnow())
            raise

    async def _reserve_and_price(
        self, rec: OrderRecord, expected_total: int | None
    ) -> Outcome | None:
        try:
            reservation = await self.products.reserve(
                rec.reservation_id,
                rec.id,
                rec.requested_lines,
                self.settings.reservation_ttl_seconds,
            )
        except OutOfStock as exc:
            return await self._abandon(rec, exc)
        if reservation.status not in ("active", "committed"):
            # Expired or released while the checkout was away: nothing is held any more.
            return await self._abandon(
                rec,
                OutOfStock(
                    [
                        {"product_id": i["product_id"], "requested": i["quantity"], "available": 0}
                        for i in rec.requested_lines
                    ]
                ),
            )
        self._price(rec, reservation)
        if expected_total is not None and expected_total != rec.total:
            await self._release(rec)
            return await self._abandon(rec, PriceChanged(expected_total, rec.total, rec.currency))
        now = utcnow()
        async with self._plain() as db:
            priced = await repo.record_pricing(db, rec, now)
        if priced:
            rec.priced_at = now
            assert rec.payment is not None
            rec.payment.amount = rec.total
            return None
        # Someone else priced it (a concurrent resume) or ended it: continue from the database.
        async with self.sessionmaker() as session:
            current = await orders_repo.load(session, rec.id)
        if current is None or current.status != OrderStatus.PENDING:
            return await self.respond_final(rec.id)
        rec.lines, rec.priced_at, rec.payment = current.lines, current.priced_at, current.payment
        return None

    def _price(self, rec: OrderRecord, reservation: Reservation) -> None:
        rec.lines = [
            Line(
                product_id=line.product_id,
                sku=line.sku,
                name=line.name,
                unit_price=line.unit_price,
                quantity=line.quantity,
            )
            for line in sorted(reservation.lines, key=lambda ln: str(ln.product_id))
        ]
        rec.subtotal = sum(line.line_total for line in rec.lines)
        free = rec.subtotal >= self.settings.free_shipping_threshold
        rec.shipping = 0 if free else self.settings.shipping_flat_fee
        rec.total = rec.subtotal + rec.shipping

    async def _abandon(self, rec: OrderRecord, error: EmporaError) -> Outcome:
        """Nothing was charged: remove the order and keep the error for the key."""
        stored = StoredResponse(error.status, problem(error))
        async with self._tx() as session:
            await repo.abandon(session, rec.id, stored, utcnow())
        return Outcome(stored.status, stored.body)

    async def _capture(self, rec: OrderRecord, token: str) -> ChargeResult:
        pay = rec.payment
        assert pay is not None
        try:
            return await asyncio.wait_for(
                self.provider.capture(
                    pay.idempotency_key, amount=rec.total, currency=rec.currency, token=token
                ),
                self.settings.payment_timeout_seconds,
            )
        except TimeoutError:
            charge = await self.provider.lookup(pay.idempotency_key)
            if charge is not None:
                log.warning("capture_timed_out_but_booked", order_id=str(rec.id))
                return charge
            raise PaymentTimeout(
                "The payment provider did not answer in time; retry with the same key"
            ) from None

    async def _fault(self, point: str) -> None:
        if self.settings.fault_point == point and self.settings.fault_sleep_seconds > 0:
            log.warning("fault_injected", point=point, seconds=self.settings.fault_sleep_seconds)
            await asyncio.sleep(self.settings.fault_sleep_seconds)

    async def conclude(self, rec: OrderRecord, charge: ChargeResult, *, actor: str) -> Outcome:
        """End a pending order by the provider's answer: paid, or payment_failed."""
        pay = rec.payment
        assert pay is not None
        now = utcnow()
        if charge.captured:
            rec.status = OrderStatus.PAID
            rec.updated_at = now
            pay.status = PaymentStatus.CAPTURED
            pay.reference = charge.reference
            pay.amount = charge.amount
            pay.captured_at = now
            pay.updated_at = now
            rec.history.append(
                HistoryEntry(OrderStatus.PAID, f"Payment captured ({charge.reference})", actor, now)
            )
            body = order_json(rec)
            ended = await self._finish(
                rec,
                OrderStatus.PAID,
                rec.history[-1],
                PaymentOutcome(
                    status=PaymentStatus.CAPTURED,
                    reference=charge.reference,
                    amount=charge.amount,
                    captured_at=now,
                ),
                (events.ORDER_PAID, events.paid(rec)),
                StoredResponse(201, body),
            )
            if not ended:
                return await self.respond_final(rec.id)
            instead = await self.after_paid(rec)
            return instead or Outcome(201, body)
        code = charge.decline_code or PROCESSING_ERROR
        declined = charge.status is ChargeStatus.DECLINED
        rec.status = OrderStatus.PAYMENT_FAILED
        rec.updated_at = now
        pay.status = PaymentStatus.DECLINED if declined else PaymentStatus.FAILED
        pay.reference = charge.reference
        pay.decline_code = code
        note = f"Payment declined ({code})" if declined else "Payment not completed"
        rec.history.append(HistoryEntry(OrderStatus.PAYMENT_FAILED, note, actor, now))
        body = problem(PaymentDeclined(rec.id, code))
        ended = await self._finish(
            rec,
            OrderStatus.PAYMENT_FAILED,
            rec.history[-1],
            PaymentOutcome(
                status=pay.status,
                reference=charge.reference,
                amount=pay.amount,
                decline_code=code,
            ),
            (events.ORDER_PAYMENT_FAILED, events.payment_failed(rec, code)),
            StoredResponse(402, body),
        )
        if not ended:
            return await self.respond_final(rec.id)
        await self._release(rec)
        return Outcome(402, body)

    async def _finish(
        self,
        rec: OrderRecord,
        status: OrderStatus,
        entry: HistoryEntry,
        payment_outcome: PaymentOutcome,
        event: tuple[str, dict[str, Any]],
        response: StoredResponse,
    ) -> bool:
        async with self._plain() as db:
            return await repo.finish(
                db,
                rec,
                status=status,
                note=entry.note or "",
                actor=entry.actor,
                now=entry.at,
                payment_outcome=payment_outcome,
                event=event,
                response=response,
            )

    async def after_paid(self, rec: OrderRecord) -> Outcome | None:
        """Commit the reservation and subtract the cart (idempotent; consumers back them up).

        None when done (or left to the consumers); the answer to give instead of the paid
        order when the stock turned out to be gone (the order was refunded and cancelled).
        """
        lines = [{"product_id": str(ln.product_id), "quantity": ln.quantity} for ln in rec.lines]
        results = await asyncio.gather(
            self.products.commit(rec.reservation_id),
            self.carts.subtract(rec.user_id, rec.id, lines),
            return_exceptions=True,
        )
        if isinstance(results[0], OutOfStock):
            return await self._unfulfillable(rec, results[0])
        for what, result in zip(("commit_reservation", "subtract_cart"), results, strict=True):
            if isinstance(result, BaseException):
                log.warning(
                    "after_paid_step_failed",
                    step=what,
                    order_id=str(rec.id),
                    error=str(result),
                    error_type=type(result).__name__,
                )
        return None

    async def _unfulfillable(self, rec: OrderRecord, error: OutOfStock) -> Outcome | None:
        """Paid, but the reservation had expired and its stock was sold meanwhile (a checkout
        stalled past the reservation's lifetime): refund and cancel the order.

        The reservation is released first: from then on no late commit (the order.paid
        consumer's backup) can take stock for it. If it was committed after all (the stock came
        back), the order stands.
        """
        try:
            await self.products.release(rec.reservation_id)
        except ReservationCommitted:
            log.info("unfulfillable_order_committed_after_all", order_id=str(rec.id))
            return None
        except Exception as exc:  # product unreachable: the order stays paid, for an operator
            log.error("unfulfillable_order_left_paid", order_id=str(rec.id), error=str(exc))
            return None
        log.error("paid_order_out_of_stock_refunding", order_id=str(rec.id))
        cancellations = Cancellations(self.sessionmaker, self.provider, self.products)
        try:
            await cancellations.cancel(
                rec,
                None,
                actor=CHECKOUT_ACTOR,
                note="Cancelled and refunded: the stock ran out before the payment was confirmed",
            )
        except Exception as exc:
            # Once the cancellation committed, the reconciler finishes a refund left pending.
            log.error("unfulfillable_order_cancel_failed", order_id=str(rec.id), error=str(exc))
            return None
        body = problem(error)
        body["order_id"] = str(rec.id)
        body["detail"] = (
            "Some lines sold out while the payment was being confirmed; "
            "the payment was refunded and the order cancelled"
        )
        stored = StoredResponse(error.status, body)
        async with self._tx() as session:
            await repo.replace_response(session, rec.id, stored, utcnow())
        return Outcome(stored.status, stored.body)

    async def _release(self, rec: OrderRecord) -> None:
        try:
            await self.products.release(rec.reservation_id)
        except Exception as exc:  # the order.payment_failed consumer releases it too
            log.warning("release_failed", order_id=str(rec.id), error=str(exc))

    async def respond_final(self, order_id: uuid.UUID) -> Outcome:
        """The answer for an order somebody else ended (kept for its key if not yet)."""
        async with self.sessionmaker() as session:
            rec = await orders_repo.load(session, order_id)
        if rec is None:
            raise IdempotencyKeyInUse("The checkout with this key ended without an order")
        if rec.status == OrderStatus.PENDING:
            raise IdempotencyKeyInUse("The checkout with this key is still being processed")
        if rec.status == OrderStatus.PAYMENT_FAILED:
            code = (rec.payment.decline_code if rec.payment else None) or PROCESSING_ERROR
            stored = StoredResponse(402, problem(PaymentDeclined(rec.id, code)))
        else:
            stored = StoredResponse(201, order_json(rec))
        async with self._tx() as session:
            await repo.store_response(session, rec.id, stored, utcnow())
        return Outcome(stored.status, stored.body)

    # --- recovery ------------------------------------------------------------------------

    async def recover(self, order_id: uuid.UUID) -> None:
        """Settle a pending order whose lease we took: complete it if the provider captured,
        else make sure it never will, release the stock and mark it payment_failed."""
        async with self.sessionmaker() as session:
            rec = await orders_repo.load(session, order_id)
        if rec is None or rec.status != OrderStatus.PENDING or rec.payment is None:
            return
        try:
            charge = await self.provider.settle(rec.payment.idempotency_key)
            if charge.captured and rec.priced_at is None:
                log.error("capture_without_pricing", order_id=str(order_id))
                return
            outcome = await self.conclude(rec, charge, actor=RECONCILER_ACTOR)
            log.info("order_recovered", order_id=str(order_id), status=outcome.status)
        except Exception:
            async with self._tx() as session:
                await repo.release_lease(session, order_id, utcnow())
            raise
