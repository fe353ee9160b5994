"""Choosing the payment provider by configuration."""

from __future__ import annotations

import pytest

from empora_order.app import create_app
from empora_order.payments.errors import UnknownPaymentProvider
from empora_order.settings import OrderSettings


class TestCheckProvider:
    def test_unknown_provider_fails_at_start_up(self) -> None:
        with pytest.raises(UnknownPaymentProvider):
            create_app(OrderSettings(PAYMENT_PROVIDER="nope"))

    def test_test_provider_is_the_default(self) -> None:
        assert OrderSettings().payment_provider == "test"
        create_app(OrderSettings())
