"""Payment providers by name (``PAYMENT_PROVIDER``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from empora_order.payments.errors import UnknownPaymentProvider
from empora_order.payments.provider import PaymentProvider
from empora_order.payments.test_provider import TestProvider
from empora_order.settings import OrderSettings

PROVIDERS = ("test",)


def check_provider(settings: OrderSettings) -> None:
    """Fail at start-up, not at the first sale, when PAYMENT_PROVIDER names no provider."""
    if settings.payment_provider not in PROVIDERS:
        raise UnknownPaymentProvider(
            f"PAYMENT_PROVIDER={settings.payment_provider!r} is not one of {', '.join(PROVIDERS)}"
        )


def build_provider(settings: OrderSettings, engine: AsyncEngine) -> PaymentProvider:
    """The configured provider."""
    check_provider(settings)
    return TestProvider(engine, delay_after_capture=settings.test_provider_delay_after_capture)
