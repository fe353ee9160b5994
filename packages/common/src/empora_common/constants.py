"""Names shared across the platform: services, exchanges, roles."""

from __future__ import annotations

from enum import StrEnum

SERVICES: tuple[str, ...] = ("auth", "product", "cart", "order", "notification")
ALL_SERVICES: tuple[str, ...] = ("gateway", *SERVICES)

DEFAULT_PORTS: dict[str, int] = {
    "gateway": 3001,
    "auth": 3002,
    "product": 3003,
    "cart": 3004,
    "order": 3005,
    "notification": 3006,
}

EVENTS_EXCHANGE = "empora.events"
UNROUTED_EXCHANGE = "empora.unrouted"
UNROUTED_QUEUE = "empora.unrouted"
DEAD_LETTER_EXCHANGE = "empora.dlx"

REQUEST_ID_HEADER = "X-Request-ID"
INTERNAL_TOKEN_HEADER = "X-Internal-Token"

PROBLEM_BASE = "https://empora.dev/problems/"


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"
