"""CORS at the edge: allowed origins from config, preflights answered by the gateway."""

from __future__ import annotations

Header = tuple[bytes, bytes]

ALLOWED_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSED_HEADERS = (
    b"X-Request-ID, X-Cart-Token, Idempotent-Replayed, Location, Retry-After, "
    b"RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
)
DEFAULT_ALLOWED_HEADERS = (
    b"Authorization, Content-Type, Idempotency-Key, X-Cart-Token, X-Request-ID, Accept"
)


class CorsPolicy:
    """Decides the CORS headers of a response for a request's ``Origin``.

    With ``*`` and no credentials every origin gets ``Access-Control-Allow-Origin: *``.
    Credentials are only ever allowed together with an explicit origin list (the settings
    refuse ``*`` with credentials), and the allowed origin is echoed, never ``*``.
    """

    def __init__(self, origins: list[str], allow_credentials: bool, max_age: int) -> None:
        self.any_origin = "*" in origins
        self.origins = frozenset(o.rstrip("/").encode() for o in origins if o != "*")
        self.enabled = self.any_origin or bool(self.origins)
        self.allow_credentials = allow_credentials and not self.any_origin
        self.max_age = str(max_age).encode()

    def allowed(self, origin: bytes) -> bool:
        """Whether this origin may read responses."""
        return self.enabled and (self.any_origin or origin in self.origins)

    def response_headers(self, origin: bytes) -> list[Header]:
        """Headers for an actual (non-preflight) response to an allowed origin."""
        headers: list[Header] = [(b"vary", b"Origin")]
        if self.any_origin:
            headers.append((b"access-control-allow-origin", b"*"))
        else:
            headers.append((b"access-control-allow-origin", origin))
            if self.allow_credentials:
                headers.append((b"access-control-allow-credentials", b"true"))
        headers.append((b"access-control-expose-headers", EXPOSED_HEADERS))
        return headers

    def preflight_headers(self, origin: bytes, requested_headers: bytes | None) -> list[Header]:
        """Headers for a successful preflight answer."""
        headers = self.response_headers(origin)
        headers.append((b"access-control-allow-methods", ALLOWED_METHODS))
        allowed_headers = _sanitize(requested_headers) or DEFAULT_ALLOWED_HEADERS
        headers.append((b"access-control-allow-headers", allowed_headers))
        headers.append((b"access-control-max-age", self.max_age))
        headers.append((b"vary", b"Access-Control-Request-Method, Access-Control-Request-Headers"))
        return headers


def _sanitize(requested: bytes | None) -> bytes | None:
    """Echo requested header names only when they are plain tokens (no header injection)."""
    if not requested:
        return None
    names = [n.strip() for n in requested.split(b",") if n.strip()]
    if not names or len(names) > 50:
        return None
    for name in names:
        if len(name) > 64 or not all(c in _TOKEN_CHARS for c in name):
            return None
    return b", ".join(names)


_TOKEN_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
