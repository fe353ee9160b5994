"""Which headers cross the gateway, and the ones it adds to every response."""

from __future__ import annotations

Header = tuple[bytes, bytes]

# RFC 9110 §7.6.1 hop-by-hop headers, plus the legacy proxy ones.
HOP_BY_HOP: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)

# Request headers never forwarded: hop-by-hop, what the gateway sets itself, and identity or
# credential headers a client must never be able to assert.
STRIP_REQUEST: frozenset[bytes] = HOP_BY_HOP | frozenset(
    {
        b"host",
        b"content-length",
        b"expect",
        b"x-request-id",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-real-ip",
        b"forwarded",
        b"x-user-id",
        b"x-user-roles",
        b"x-user-email",
        b"x-user-email-verified",
        b"x-internal-token",
        b"x-authenticated-user",
        b"x-auth-user",
        b"x-principal",
    }
)
# Any header starting with one of these is an identity claim and is dropped too.
STRIP_REQUEST_PREFIXES: tuple[bytes, ...] = (b"x-user-", b"x-internal-", b"x-auth-", b"x-empora-")

# Response headers the gateway replaces: hop-by-hop, its own server/date (uvicorn adds them),
# the request id (set once by the gateway) and CORS (decided only at the edge).
STRIP_RESPONSE: frozenset[bytes] = HOP_BY_HOP | frozenset(
    {
        b"server",
        b"date",
        b"x-request-id",
        b"access-control-allow-origin",
        b"access-control-allow-credentials",
        b"access-control-allow-methods",
        b"access-control-allow-headers",
        b"access-control-expose-headers",
        b"access-control-max-age",
    }
)

SECURITY_HEADERS: tuple[Header, ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
# JSON APIs need nothing from a browser: a response rendered as a page can do nothing at all.
API_CSP: Header = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
CSP_NAME = b"content-security-policy"


def hsts_header(max_age: int) -> Header:
    """Strict-Transport-Security for responses served over TLS."""
    return (b"strict-transport-security", f"max-age={max_age}; includeSubDomains".encode())


def header_names_in_connection(value: bytes) -> set[bytes]:
    """Extra hop-by-hop header names listed in a ``Connection`` header."""
    return {part.strip().lower() for part in value.split(b",") if part.strip()}
