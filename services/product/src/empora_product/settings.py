"""Configuration of the product service."""

from __future__ import annotations

from pydantic import Field

from empora_common.settings import ServiceSettings


class ProductSettings(ServiceSettings):
    """Settings of the product service (the shared names plus its own)."""

    service_name: str = "product"
    port: int = Field(3003, validation_alias="PRODUCT_PORT")
    # A reservation holds stock this long unless the caller asks for another TTL.
    reservation_ttl_seconds: int = Field(600, validation_alias="RESERVATION_TTL_SECONDS")
    # How often the sweeper looks for expired, uncommitted reservations.
    reservation_sweep_interval: float = Field(5.0, validation_alias="RESERVATION_SWEEP_INTERVAL")
    reservation_sweep_batch: int = Field(200, validation_alias="RESERVATION_SWEEP_BATCH")
    # Cached product details and listing pages; every admin change invalidates them at once.
    cache_enabled: bool = Field(True, validation_alias="PRODUCT_CACHE_ENABLED")
    cache_ttl_seconds: int = Field(300, validation_alias="PRODUCT_CACHE_TTL")
    # Typo tolerance of search: the pg_trgm word-similarity threshold (0..1).
    search_similarity_threshold: float = Field(
        0.5, ge=0.0, le=1.0, validation_alias="PRODUCT_SEARCH_SIMILARITY"
    )
