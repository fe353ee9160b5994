"""Which upstream serves a path: prefix routing, same paths, nothing rewritten."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

# First segment after /api -> service.
PREFIXES: dict[str, str] = {
    "auth": "auth",
    "users": "auth",
    "products": "product",
    "categories": "product",
    "cart": "cart",
    "orders": "order",
    "notifications": "notification",
}

# Routes the gateway answers itself (exact paths).
OWN_PATHS: frozenset[str] = frozenset(
    {
        "/api/health",
        "/api/health/gateway",
        "/api/docs",
        "/api/openapi.json",
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/verify-email",
        "/reset-password",
    }
)
# Own routes that are infrastructure probes: no rate limit, no access log line.
PROBE_PATHS: frozenset[str] = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})

# Public collections whose GET takes ?page&limit: the gateway caps ``limit`` before the
# upstream. Collections behind a token (users, orders, notifications) are left to their
# service, which answers 401/403 before it judges the query (the contract's precedence).
LIST_PATHS: frozenset[str] = frozenset({"/api/products"})

CHECKOUT_PATH = "/api/orders"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes."""

    service: str  # upstream name, or "" for the gateway's own routes
    own: bool = False


def is_suspicious(path: str, raw_path: bytes | None) -> bool:
    """True for paths that could mean something else after decoding or normalisation.

    Dot segments, encoded slashes/backslashes, NUL, and any ``internal`` segment (in any
    letter case, after repeated percent-decoding) are refused: the gateway never forwards a
    path whose meaning an upstream could resolve differently from the gateway's routing.
    """
    raw_bytes = raw_path if raw_path is not None else path.encode("utf-8", "replace")
    lowered_bytes = raw_bytes.lower()
    if (
        b"%" not in raw_bytes
        and b"/." not in raw_bytes
        and b"\\" not in raw_bytes
        and b"internal" not in lowered_bytes
        and b"\x00" not in raw_bytes
    ):
        return False
    raw = raw_bytes.decode("latin-1")
    candidates = {path, raw}
    decoded = raw
    for _ in range(3):
        step = unquote(decoded)
        if step == decoded:
            break
        decoded = step
        candidates.add(decoded)
    for candidate in candidates:
        lowered = candidate.lower().replace("\\", "/")
        if "\x00" in lowered or "%2f" in lowered or "%5c" in lowered or "%00" in lowered:
            return True
        segments = lowered.split("/")
        for segment in segments:
            if segment in (".", "..") or segment == "internal":
                return True
    return False


OWN_TARGET = Target("", own=True)
_TARGETS: dict[str, Target] = {segment: Target(service) for segment, service in PREFIXES.items()}


def resolve(path: str) -> Target | None:
    """The target for a (decoded) path, or None when nothing serves it."""
    if path in OWN_PATHS:
        return OWN_TARGET
    if not path.startswith("/api/"):
        return None
    end = path.find("/", 5)
    return _TARGETS.get(path[5:] if end == -1 else path[5:end])


def is_checkout_like(method: str, path: str) -> bool:
    """Order writes (checkout, cancel with its refund) get the long timeout."""
    return method == "POST" and (path == CHECKOUT_PATH or path.startswith("/api/orders/"))
