"""The built-in test provider against its real ledger in PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from empora_order.payments.errors import InvalidPaymentToken, RefundFailed
from empora_order.payments.provider import ChargeStatus
from empora_order.payments.test_provider import TestProvider


@pytest.fixture
def fresh_provider(engine: AsyncEngine, clean: None) -> TestProvider:
    return TestProvider(engine)


class TestCapture:
    async def test_visa_and_mastercard_are_captured(self, fresh_provider: TestProvider) -> None:
        visa = await fresh_provider.capture("o1:1", amount=100, currency="USD", token="tok_visa")
        master = await fresh_provider.capture(
            "o2:1", amount=200, currency="USD", token="tok_mastercard"
        )
        assert (visa.status, master.status) == (ChargeStatus.CAPTURED, ChargeStatus.CAPTURED)
        assert visa.reference != master.reference

    @pytest.mark.parametrize(
        ("token", "code"),
        [("tok_chargeDeclined", "card_declined"), ("tok_insufficientFunds", "insufficient_funds")],
    )
    async def test_declining_tokens(
        self, fresh_provider: TestProvider, token: str, code: str
    ) -> None:
        result = await fresh_provider.capture("o:1", amount=1, currency="USD", token=token)
        assert (result.status, result.decline_code) == (ChargeStatus.DECLINED, code)

    async def test_unknown_token_is_invalid(self, fresh_provider: TestProvider) -> None:
        with pytest.raises(InvalidPaymentToken):
            await fresh_provider.capture("o:1", amount=1, currency="USD", token="tok_nope")

    async def test_same_key_answers_the_same_capture_even_concurrently(
        self, fresh_provider: TestProvider
    ) -> None:
        results = await asyncio.gather(
            *(
                fresh_provider.capture("same:1", amount=500, currency="USD", token="tok_visa")
                for _ in range(8)
            )
        )
        assert len({r.reference for r in results}) == 1


class TestLookupAndSettle:
    async def test_lookup_of_an_unknown_key_is_none(self, fresh_provider: TestProvider) -> None:
        assert await fresh_provider.lookup("never:1") is None

    async def test_lookup_tells_a_past_capture(self, fresh_provider: TestProvider) -> None:
        charge = await fresh_provider.capture("k:1", amount=7, currency="USD", token="tok_visa")
        assert await fresh_provider.lookup("k:1") == charge

    async def test_settle_keeps_a_capture(self, fresh_provider: TestProvider) -> None:
        charge = await fresh_provider.capture("k:1", amount=7, currency="USD", token="tok_visa")
        assert await fresh_provider.settle("k:1") == charge

    async def test_settle_voids_a_key_so_a_late_capture_captures_nothing(
        self, fresh_provider: TestProvider
    ) -> None:
        settled = await fresh_provider.settle("late:1")
        late = await fresh_provider.capture("late:1", amount=9, currency="USD", token="tok_visa")
        assert settled.status == late.status == ChargeStatus.VOIDED
        assert not late.captured


class TestRefund:
    async def test_refunds_a_capture_once_per_key(self, fresh_provider: TestProvider) -> None:
        charge = await fresh_provider.capture("c:1", amount=900, currency="USD", token="tok_visa")
        first = await fresh_provider.refund(
            "c:1:refund", charge_reference=charge.reference, amount=900, currency="USD"
        )
        again = await fresh_provider.refund(
            "c:1:refund", charge_reference=charge.reference, amount=900, currency="USD"
        )
        assert first == again
        assert first.reference.startswith("re_test_")

    async def test_refuses_to_refund_what_was_not_captured(
        self, fresh_provider: TestProvider
    ) -> None:
        declined = await fresh_provider.capture(
            "d:1", amount=5, currency="USD", token="tok_chargeDeclined"
        )
        with pytest.raises(RefundFailed):
            await fresh_provider.refund(
                "d:1:refund", charge_reference=declined.reference, amount=5, currency="USD"
            )

    async def test_refuses_more_than_the_capture(self, fresh_provider: TestProvider) -> None:
        charge = await fresh_provider.capture("m:1", amount=5, currency="USD", token="tok_visa")
        with pytest.raises(RefundFailed):
            await fresh_provider.refund(
                "m:1:refund", charge_reference=charge.reference, amount=6, currency="USD"
            )


class TestDelayAfterCapture:
    async def test_capture_is_booked_before_the_delay(
        self, engine: AsyncEngine, clean: None
    ) -> None:
        slow = TestProvider(engine, delay_after_capture=5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                slow.capture("slow:1", amount=3, currency="USD", token="tok_visa"), 0.5
            )
        booked = await slow.lookup("slow:1")
        assert booked is not None and booked.captured
