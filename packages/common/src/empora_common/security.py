"""Who is calling: internal credential, JWT access tokens verified against the JWKS."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import aiohttp
import jwt
import structlog
from fastapi import Depends, Request
from jwt.algorithms import RSAAlgorithm
from redis.asyncio import Redis

from empora_common.constants import INTERNAL_TOKEN_HEADER, Role
from empora_common.errors import EmporaError, Forbidden, Unauthorized

log = structlog.get_logger("empora.security")

ALLOWED_ALGORITHMS = ["RS256"]
JWKS_PATH = "/api/auth/.well-known/jwks.json"


def valid_after_key(prefix: str, user_id: str) -> str:
    """Redis key holding the epoch second before which a user's access tokens are void."""
    return f"{prefix}auth:valid_after:{user_id}"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller, from a verified access token."""

    user_id: uuid.UUID
    email: str
    email_verified: bool
    roles: tuple[str, ...]
    token_id: str
    issued_at: int
    expires_at: int

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


class InvalidToken(Unauthorized):
    slug = "invalid-token"
    title = "Invalid or expired token"


class EmailNotVerified(EmporaError):
    status = 403
    slug = "email-not-verified"
    title = "Email not verified"


class AdminRequired(Forbidden):
    slug = "admin-required"
    title = "Administrator role required"


@dataclass
class _CachedToken:
    principal: Principal
    expires_at: float


@dataclass
class TokenVerifier:
    """Verifies RS256 access tokens with keys from the auth service's JWKS.

    Keys are cached and refetched when a token names an unknown ``kid`` (at most once per
    ``refresh_cooldown`` seconds, so garbage tokens cannot make us hammer the auth service).
    Verified tokens are cached until ``exp``; a per-user "valid after" time in Redis (written by
    the auth service on password reset or deactivation) is honoured with a short local cache.
    """

    jwks_url: str
    issuer: str
    audience: str
    redis: Redis | None = None
    redis_prefix: str = ""
    revocation_ttl: float = 2.0
    refresh_cooldown: float = 5.0
    static_keys: dict[str, Any] = field(default_factory=dict)
    _keys: dict[str, Any] = field(default_factory=dict)
    _last_fetch: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _cache: dict[str, _CachedToken] = field(default_factory=dict)
    _valid_after: dict[str, tuple[float, int]] = field(default_factory=dict)
    _session: aiohttp.ClientSession | None = None

    def load_jwks(self, jwks: dict[str, Any]) -> None:
        """Replace the known keys with a JWKS document."""
        keys: dict[str, Any] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("kid"):
                keys[jwk["kid"]] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        self._keys = {**self.static_keys, **keys}

    async def _fetch(self) -> None:
        async with self._lock:
            if time.monotonic() - self._last_fetch < self.refresh_cooldown and self._keys:
                return
            self._last_fetch = time.monotonic()
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3))
            try:
                async with self._session.get(self.jwks_url) as resp:
                    if resp.status == 200:
                        self.load_jwks(await resp.json())
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("jwks_fetch_failed", error=str(exc))

    async def close(self) -> None:
        """Close the JWKS HTTP client."""
        if self._session is not None:
            await self._session.close()

    async def _key_for(self, kid: str) -> Any:
        key = self._keys.get(kid) or self.static_keys.get(kid)
        if key is None:
            await self._fetch()
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("The token was signed with an unknown key")
        return key

    async def verify(self, token: str) -> Principal:
        """A Principal for a valid access token; raises InvalidToken otherwise."""
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None and cached.expires_at > now:
            principal = cached.principal
        else:
            principal = await self._verify_uncached(token)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[token] = _CachedToken(principal, float(principal.expires_at))
        await self._check_revocation(principal)
        return principal

    async def _verify_uncached(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("The token is malformed") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken("The token's algorithm is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("The token has no key id")
        key = await self._key_for(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
                leeway=5,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"The token is not valid: {exc}") from exc
        if claims.get("typ", "access") != "access":
            raise InvalidToken("Not an access token")
        try:
            return Principal(
                user_id=uuid.UUID(str(claims["sub"])),
                email=str(claims.get("email", "")),
                email_verified=bool(claims.get("email_verified", False)),
                roles=tuple(str(r) for r in claims.get("roles", [])),
                token_id=str(claims["jti"]),
                issued_at=int(claims["iat"]),
                expires_at=int(claims["exp"]),
            )
        except (ValueError, TypeError) as exc:
            raise InvalidToken("The token's claims are malformed") from exc

    async def _check_revocation(self, principal: Principal) -> None:
        if self.redis is None:
            return
        uid = str(principal.user_id)
        now = time.monotonic()
        cached = self._valid_after.get(uid)
        if cached is not None and cached[0] > now:
            valid_after = cached[1]
        else:
            try:
                raw = await self.redis.get(valid_after_key(self.redis_prefix, uid))
            except Exception as exc:  # Redis down: tokens stay valid until exp
                log.warning("revocation_check_failed", error=str(exc))
                return
            valid_after = int(raw) if raw else 0
            if len(self._valid_after) > 50_000:
                self._valid_after.clear()
            self._valid_after[uid] = (now + self.revocation_ttl, valid_after)
        if principal.issued_at < valid_after:
            raise InvalidToken("The token has been revoked")

    def forget_user(self, user_id: str) -> None:
        """Drop the local revocation cache for a user (after we revoked it ourselves)."""
        self._valid_after.pop(user_id, None)


def bearer_token(request: Request) -> str | None:
    """The bearer token of the Authorization header, if any."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def optional_user(request: Request) -> Principal | None:
    """The caller if a bearer token is present (and valid); None when there is none."""
    token = bearer_token(request)
    if token is None:
        if request.headers.get("authorization"):
            raise InvalidToken("The Authorization header must be 'Bearer <token>'")
        return None
    verifier: TokenVerifier = request.state.token_verifier
    return await verifier.verify(token)


async def current_user(request: Request) -> Principal:
    """The authenticated caller; 401 without a valid token."""
    principal = await optional_user(request)
    if principal is None:
        raise Unauthorized("A bearer access token is required")
    return principal


async def verified_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    """The caller, who must have verified their email."""
    if not user.email_verified:
        raise EmailNotVerified("Verify your email address first")
    return user


async def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    """The caller, who must be an administrator."""
    if not user.is_admin:
        raise AdminRequired("This route needs the admin role")
    return user


async def require_internal(request: Request) -> None:
    """Guard for ``/internal/...`` routes: the deployment's internal credential."""
    expected: str = request.state.internal_token
    given = request.headers.get(INTERNAL_TOKEN_HEADER, "")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("The internal credential is missing or wrong")


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
VerifiedUser = Annotated[Principal, Depends(verified_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
InternalCaller = Depends(require_internal)


_GUARDS = {current_user: 0, verified_user: 1, admin_user: 2}
_route_guard_cache: dict[int, int | None] = {}


def _strictest_guard(dependant: Any) -> int | None:
    found: int | None = _GUARDS.get(getattr(dependant, "call", None))  # type: ignore[arg-type]
    for sub in getattr(dependant, "dependencies", ()):
        level = _strictest_guard(sub)
        if level is not None and (found is None or level > found):
            found = level
    return found


async def auth_error_first(request: Request) -> EmporaError | None:
    """The 401/403 a request deserves before its body is judged (400/422 come after them).

    FastAPI parses and validates the body before it runs the route's dependencies, so without
    this a request with a malformed body and no token would get 400 instead of 401.
    """
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    key = id(route)
    if key not in _route_guard_cache:
        _route_guard_cache[key] = _strictest_guard(dependant)
    level = _route_guard_cache[key]
    if level is None:
        return None
    try:
        user = await current_user(request)
        if level == 1:
            await verified_user(user)
        elif level == 2:
            await admin_user(user)
    except EmporaError as exc:
        return exc
    return None
