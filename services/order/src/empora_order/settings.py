"""Configuration of the order service."""

from __future__ import annotations

from pydantic import Field

from empora_common.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    """Settings of the order service (the shared names plus its own)."""

    service_name: str = "order"
    port: int = Field(3005, validation_alias="ORDER_PORT")

    # Money, in minor units of STORE_CURRENCY.
    shipping_flat_fee: int = Field(499, ge=0, validation_alias="SHIPPING_FLAT_FEE")
    free_shipping_threshold: int = Field(5000, ge=0, validation_alias="FREE_SHIPPING_THRESHOLD")

    # Which payment provider captures and refunds (see empora_order.payments.registry).
    payment_provider: str = Field("test", validation_alias="PAYMENT_PROVIDER")
    # A capture or refund that takes longer is looked up by its key instead of awaited.
    payment_timeout_seconds: float = Field(10.0, gt=0, validation_alias="PAYMENT_TIMEOUT_SECONDS")

    # A checkout holds its pending order this long; after that a retry with the same
    # Idempotency-Key or the reconciler may take it over (a crash, a hung request).
    checkout_lease_seconds: float = Field(15.0, gt=0, validation_alias="CHECKOUT_LEASE_SECONDS")
    # Stock reservations outlive the lease, so a resumed checkout still finds its stock.
    reservation_ttl_seconds: int = Field(600, ge=30, validation_alias="RESERVATION_TTL_SECONDS")
    # How often the reconciler looks for pending orders with an expired lease.
    reconciler_interval: float = Field(5.0, gt=0, validation_alias="RECONCILER_INTERVAL")
    reconciler_batch: int = Field(50, ge=1, validation_alias="RECONCILER_BATCH")

    # Idempotency keys: how long a duplicate waits for the first request, and retention.
    idempotency_wait_seconds: float = Field(5.0, ge=0, validation_alias="IDEMPOTENCY_WAIT_SECONDS")
    idempotency_retention_hours: int = Field(
        48, ge=24, validation_alias="IDEMPOTENCY_RETENTION_HOURS"
    )

    # Card-testing guard: more than this many declines in the window blocks checkouts (429).
    decline_limit: int = Field(5, ge=1, validation_alias="CHECKOUT_DECLINE_LIMIT")
    decline_window_seconds: int = Field(3600, ge=1, validation_alias="CHECKOUT_DECLINE_WINDOW")

    # Timeout of each call to the product and cart services.
    upstream_timeout_seconds: float = Field(5.0, gt=0, validation_alias="UPSTREAM_TIMEOUT_SECONDS")

    # The built-in test provider: sleep this long after a capture was recorded (to test a
    # provider that times out after it captured).
    test_provider_delay_after_capture: float = Field(
        0.0, ge=0, validation_alias="TEST_PROVIDER_DELAY_AFTER_CAPTURE"
    )
    # Fault injection for tests: sleep this long at a point of the checkout
    # ("before_capture", "after_capture"), so a test can kill the process there.
    fault_point: str = Field("", validation_alias="ORDER_FAULT_POINT")
    fault_sleep_seconds: float = Field(0.0, ge=0, validation_alias="ORDER_FAULT_SLEEP_SECONDS")
