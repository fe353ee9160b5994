"""The order lifecycle's transitions."""

from __future__ import annotations

import pytest

from empora_order.orders.errors import InvalidTransition
from empora_order.orders.lifecycle import can_transition, ensure_transition
from empora_order.orders.records import OrderStatus as S

ALLOWED = {
    (S.PENDING, S.PAID),
    (S.PENDING, S.PAYMENT_FAILED),
    (S.PAID, S.SHIPPED),
    (S.PAID, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
}


class TestCanTransition:
    @pytest.mark.parametrize("current", list(S))
    @pytest.mark.parametrize("target", list(S))
    def test_allows_exactly_the_contracts_transitions(self, current: S, target: S) -> None:
        assert can_transition(current, target) == ((current, target) in ALLOWED)


class TestEnsureTransition:
    def test_raises_409_invalid_transition_with_both_statuses(self) -> None:
        with pytest.raises(InvalidTransition) as caught:
            ensure_transition("shipped", S.CANCELLED)
        assert caught.value.status == 409
        assert caught.value.slug == "invalid-transition"
        assert caught.value.extra == {
            "current_status": "shipped",
            "requested_status": "cancelled",
        }

    def test_passes_an_allowed_transition(self) -> None:
        ensure_transition("paid", S.SHIPPED)
