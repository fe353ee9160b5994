"""The key ring: which key signs now, which keys JWKS publishes, and rotation.

Life of a generated key: it is published in JWKS as the *next* key as soon as it exists; a
rotation schedules it to sign from ``max(now, created_at + JWT_KEY_PUBLISH_DELAY)`` (so every
verifier has had time to see it) and retires the current key at that moment; a retired key
stays published for the access-token lifetime plus ``JWT_KEY_RETENTION_GRACE`` so the tokens it
signed can still be verified, then it is deleted. A rotation also publishes a fresh next key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from empora_auth.keys import material
from empora_auth.keys import repository as key_repository
from empora_auth.keys.material import SigningKey
from empora_auth.settings import AuthSettings
from empora_common.db import create_engine

log = structlog.get_logger("empora.auth.keys")

JwksListener = Callable[[dict[str, Any]], None]


class KeyRotationUnavailable(RuntimeError):
    """Keys come from configuration (``JWT_PRIVATE_KEY``): rotate by changing it."""


def _now() -> datetime:
    return datetime.now(UTC)


def select_current(keys: Sequence[SigningKey], now: datetime) -> SigningKey | None:
    """The key that signs at ``now``: the latest one whose activation has come."""
    active = [k for k in keys if k.activates_at is not None and k.activates_at <= now]
    if not active:
        return None
    return max(active, key=lambda k: (k.activates_at or now, k.created_at))


def select_published(
    keys: Sequence[SigningKey], now: datetime, retention: timedelta
) -> list[SigningKey]:
    """The keys JWKS lists at ``now``: current first, then next ones, then retiring ones."""
    current = select_current(keys, now)
    upcoming = [k for k in keys if k.activates_at is None or k.activates_at > now]
    retiring = [
        k
        for k in keys
        if k is not current
        and k not in upcoming
        and (k.retired_at is None or now < k.retired_at + retention)
    ]
    return ([current] if current is not None else []) + upcoming + retiring


def _row_to_key(row: Any, parsed: dict[str, rsa.RSAPrivateKey]) -> SigningKey:
    private = parsed.get(row.kid)
    if private is None:
        private = material.load_private_key(row.private_key_pem)
        parsed[row.kid] = private
    return SigningKey(
        kid=row.kid,
        private_key=private,
        public_jwk=dict(row.public_jwk),
        created_at=row.created_at,
        activates_at=row.activates_at,
        retired_at=row.retired_at,
    )


async def _new_key(
    conn: AsyncConnection, settings: AuthSettings, now: datetime, *, activates_at: datetime | None
) -> str:
    private = await asyncio.to_thread(material.generate_private_key, settings.jwt_key_size)
    jwk = material.public_jwk(private)
    await key_repository.insert(
        conn,
        kid=jwk["kid"],
        private_key_pem=material.private_key_to_pem(private),
        public_jwk=jwk,
        created_at=now,
        activates_at=activates_at,
    )
    log.info("signing_key_created", kid=jwk["kid"], activates_at=str(activates_at))
    return str(jwk["kid"])


async def ensure_keys(engine: AsyncEngine, settings: AuthSettings) -> None:
    """Make sure a current and a next key exist (safe when several instances start at once)."""
    async with engine.begin() as conn:
        await key_repository.lock(conn)
        now = _now()
        rows = await key_repository.all_rows(conn)
        current = [r for r in rows if r.activates_at is not None and r.activates_at <= now]
        pending = [r for r in rows if r.activates_at is None]
        if not current:
            if pending:
                await key_repository.schedule(conn, kid=pending[0].kid, activates_at=now, retire=[])
                pending = pending[1:]
            else:
                await _new_key(conn, settings, now, activates_at=now)
        if not pending:
            await _new_key(conn, settings, now, activates_at=None)


@dataclass(frozen=True)
class RotationResult:
    """What a rotation did (the CLI prints it)."""

    retiring_kid: str | None
    signing_kid: str
    signs_from: datetime
    next_kid: str | None
    already_scheduled: bool
    deleted: int

    def __str__(self) -> str:
        when = self.signs_from.isoformat(timespec="seconds")
        head = "a rotation was already scheduled: " if self.already_scheduled else ""
        return (
            f"{head}key {self.signing_kid} signs from {when}, replacing {self.retiring_kid};"
            f" next key {self.next_kid} published; {self.deleted} expired key(s) deleted"
        )


def _retention(settings: AuthSettings) -> timedelta:
    return timedelta(seconds=settings.access_token_ttl + settings.key_retention_grace)


async def rotate(settings: AuthSettings) -> RotationResult:
    """Promote the published next key, retire the current one and publish a new next key."""
    if settings.jwt_private_key is not None:
        raise KeyRotationUnavailable(
            "Signing keys come from JWT_PRIVATE_KEY; rotate them by changing the configuration"
        )
    engine = create_engine(settings.database_url, pool_size=1, application_name="empora-auth-cli")
    try:
        await ensure_keys(engine, settings)
        async with engine.begin() as conn:
            await key_repository.lock(conn)
            now = _now()
            deleted = await key_repository.delete_retired_before(conn, now - _retention(settings))
            rows = await key_repository.all_rows(conn)
            scheduled = [r for r in rows if r.activates_at is not None and r.activates_at > now]
            active = [r for r in rows if r.activates_at is not None and r.activates_at <= now]
            current = max(active, key=lambda r: (r.activates_at, r.created_at))
            if scheduled:
                # A rotation is already under way: it stays as it is.
                nxt = min(scheduled, key=lambda r: r.activates_at)
                upcoming = [r for r in rows if r.activates_at is None]
                return RotationResult(
                    retiring_kid=current.kid,
                    signing_kid=nxt.kid,
                    signs_from=nxt.activates_at,
                    next_kid=upcoming[0].kid if upcoming else None,
                    already_scheduled=True,
                    deleted=deleted,
                )
            pending = [(r.kid, r.created_at) for r in rows if r.activates_at is None]
            if not pending:
                pending = [(await _new_key(conn, settings, now, activates_at=None), now)]
            promoted_kid, published_at = pending[0]
            delay = timedelta(seconds=settings.key_publish_delay)
            signs_from = max(now, published_at + delay)
            await key_repository.schedule(
                conn,
                kid=promoted_kid,
                activates_at=signs_from,
                retire=[r.kid for r in active],
            )
            next_kid = (
                pending[1][0]
                if len(pending) > 1
                else await _new_key(conn, settings, now, activates_at=None)
            )
        log.info("signing_keys_rotated", signing_kid=promoted_kid, signs_from=str(signs_from))
        return RotationResult(
            retiring_kid=current.kid,
            signing_kid=promoted_kid,
            signs_from=signs_from,
            next_kid=next_kid,
            already_scheduled=False,
            deleted=deleted,
        )
    finally:
        await engine.dispose()


class KeyRing:
    """The keys of this instance: loaded from configuration or from the database.

    Database keys are re-read every ``JWT_KEY_RELOAD_INTERVAL`` seconds (lazily, when a token
    is signed or JWKS served), so a rotation made by another process is noticed.
    """

    def __init__(self, settings: AuthSettings, engine: AsyncEngine | None) -> None:
        self.settings = settings
        self.engine = engine
        self._keys: list[SigningKey] = []
        self._parsed: dict[str, rsa.RSAPrivateKey] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self._listeners: list[JwksListener] = []

    @property
    def static(self) -> bool:
        """True when the key comes from ``JWT_PRIVATE_KEY``."""
        return self.settings.jwt_private_key is not None

    def subscribe(self, listener: JwksListener) -> None:
        """Call ``listener(jwks)`` now and after every reload."""
        self._listeners.append(listener)
        if self._keys:
            listener(self.jwks())

    async def start(self) -> None:
        """Load the configured key, or create (first start) and load the database keys."""
        if self.settings.jwt_private_key is not None:
            private = material.load_private_key(self.settings.jwt_private_key.get_secret_value())
            jwk = material.public_jwk(private)
            epoch = datetime(1970, 1, 1, tzinfo=UTC)
            self._keys = [SigningKey(jwk["kid"], private, jwk, epoch, epoch, None)]
            self._loaded_at = time.monotonic()
            self._notify()
            return
        if self.engine is None:
            raise RuntimeError("database keys need an engine")
        await ensure_keys(self.engine, self.settings)
        await self.reload()

    async def reload(self) -> None:
        """Re-read the database keys (kept as they were when the database fails)."""
        if self.static or self.engine is None:
            return
        async with self._lock:
            try:
                async with self.engine.connect() as conn:
                    rows = await key_repository.all_rows(conn)
            except Exception as exc:
                log.warning("signing_keys_reload_failed", error=str(exc))
                self._loaded_at = time.monotonic()
                return
            self._keys = [_row_to_key(row, self._parsed) for row in rows]
            self._parsed = {k.kid: k.private_key for k in self._keys}
            self._loaded_at = time.monotonic()
        self._notify()

    async def _reload_if_stale(self) -> None:
        if (
            not self.static
            and time.monotonic() - self._loaded_at > self.settings.key_reload_interval
        ):
            await self.reload()

    def _notify(self) -> None:
        document = self.jwks()
        for listener in self._listeners:
            listener(document)

    async def signing_key(self) -> SigningKey:
        """The key to sign with now."""
        await self._reload_if_stale()
        current = select_current(self._keys, _now())
        if current is None:
            raise RuntimeError("no signing key is active")
        return current

    def published(self) -> list[SigningKey]:
        """The keys JWKS lists now."""
        return select_published(self._keys, _now(), _retention(self.settings))

    async def fresh_jwks(self) -> dict[str, Any]:
        """The JWKS document, after a reload if the keys are stale."""
        await self._reload_if_stale()
        return self.jwks()

    def jwks(self) -> dict[str, Any]:
        """``{"keys": [...]}``: public keys only, current and next (and retiring) ones."""
        return {"keys": [dict(k.public_jwk) for k in self.published()]}
