"""Configuration of the cart service."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from pydantic import Field, field_validator

from empora_common.settings import ServiceSettings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DAY = 24 * 3600


class CartSettings(ServiceSettings):
    """The cart's settings: Redis is its primary store, the product service its catalog."""

    service_name: str = "cart"
    port: int = Field(3004, validation_alias="CART_PORT")

    # Peers allowed to tell us the client's address in X-Forwarded-For (IPs or CIDRs).
    trusted_proxies: str = Field("127.0.0.1,::1", validation_alias="TRUSTED_PROXIES")
    user_cart_ttl_seconds: int = Field(30 * DAY, gt=0, validation_alias="CART_USER_TTL_SECONDS")
    guest_cart_ttl_seconds: int = Field(7 * DAY, gt=0, validation_alias="CART_GUEST_TTL_SECONDS")
    # New guest carts per client IP and window (0 turns the cap off).
    guest_carts_per_ip: int = Field(1000, ge=0, validation_alias="CART_GUEST_CREATE_LIMIT")
    guest_cart_window_seconds: int = Field(
        3600, gt=0, validation_alias="CART_GUEST_CREATE_WINDOW_SECONDS"
    )
    # How long an order's subtraction is remembered (the internal API promises at least 7 days).
    order_marker_ttl_seconds: int = Field(
        14 * DAY, ge=7 * DAY, validation_alias="CART_ORDER_MARKER_TTL_SECONDS"
    )
    max_line_quantity: int = Field(99, ge=1, validation_alias="CART_MAX_LINE_QUANTITY")
    max_lines: int = Field(100, ge=1, validation_alias="CART_MAX_LINES")
    product_lookup_timeout: float = Field(5.0, gt=0, validation_alias="CART_PRODUCT_TIMEOUT")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        parse_networks(value)  # refuse a typo at start-up rather than trust nobody silently
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """TRUSTED_PROXIES parsed."""
        return parse_networks(self.trusted_proxies)


@lru_cache(maxsize=16)
def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """Comma-separated addresses or CIDR networks; ValueError on anything else."""
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False)
        for entry in value.split(",")
        if entry.strip()
    )
