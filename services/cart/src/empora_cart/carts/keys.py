"""Where carts live in Redis, and the identifiers of carts and guest tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

# Stable ids for users' carts: uuid5 of the user id in this namespace.
CART_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://empora.dev/carts")
# The id an absent guest cart reads as (there is no cart to name).
NO_CART_ID = uuid.UUID(int=0)

# token_urlsafe(32): 256 bits, 43 characters of the URL-safe base64 alphabet.
_TOKEN_BYTES = 32
_WELL_FORMED_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,128}$")


def user_cart_id(user_id: uuid.UUID) -> uuid.UUID:
    """The stable id of a user's cart (the order service guards "one cart, one order" with it)."""
    return uuid.uuid5(CART_NAMESPACE, str(user_id))


def new_cart_token() -> str:
    """An unguessable guest cart token (256 bits)."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def well_formed_token(token: str) -> bool:
    """Whether a client's token could be one of ours (anything else names no cart)."""
    return _WELL_FORMED_TOKEN.fullmatch(token) is not None


def token_digest(token: str) -> str:
    """The SHA-256 of a token: Redis keys hold this, never the token itself.

    A fast hash is enough: the token has 256 bits of entropy, so there is nothing to brute-force.
    """
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Keys:
    """Redis key names, all under the deployment's ``REDIS_PREFIX``."""

    prefix: str

    def user_cart(self, user_id: uuid.UUID) -> str:
        return f"{self.prefix}cart:user:{user_id}"

    def guest_cart(self, token: str) -> str:
        return f"{self.prefix}cart:guest:{token_digest(token)}"

    def version_floor(self, user_id: uuid.UUID) -> str:
        """The last version the order service saw, so a re-created cart never reuses one."""
        return f"{self.prefix}cart:version-floor:{user_id}"

    def guest_floor(self, token: str) -> str:
        """Never written: guest carts are never checked out, their versions may restart."""
        return f"{self.prefix}cart:version-floor:guest:{token_digest(token)}"

    def guest_quota(self, client_ip: str) -> str:
        return f"{self.prefix}cart:guest-quota:{client_ip}"

    def order_marker(self, order_id: uuid.UUID) -> str:
        return f"{self.prefix}cart:order-subtracted:{order_id}"


@dataclass(frozen=True)
class CartRef:
    """One cart a request addresses (it may not exist yet)."""

    key: str
    floor_key: str
    ttl_seconds: int
    # The id the cart gets if a write creates it (a user's is stable, a guest's random).
    new_id: uuid.UUID
    user_id: uuid.UUID | None = None
    token: str | None = None

    @property
    def is_guest(self) -> bool:
        return self.user_id is None


def user_ref(keys: Keys, user_id: uuid.UUID, ttl_seconds: int) -> CartRef:
    """The cart of a signed-in user."""
    return CartRef(
        key=keys.user_cart(user_id),
        floor_key=keys.version_floor(user_id),
        ttl_seconds=ttl_seconds,
        new_id=user_cart_id(user_id),
        user_id=user_id,
    )


def guest_ref(keys: Keys, token: str, ttl_seconds: int) -> CartRef:
    """The guest cart a token names."""
    return CartRef(
        key=keys.guest_cart(token),
        floor_key=keys.guest_floor(token),
        ttl_seconds=ttl_seconds,
        new_id=uuid.uuid4(),
        token=token,
    )
