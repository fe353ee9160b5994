"""RS256 access tokens with the contract's claims."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import jwt

from empora_auth.keys.material import SigningKey
from empora_auth.settings import AuthSettings

# Session id: the refresh-token family the token was issued from (change-password keeps it).
SESSION_CLAIM = "sid"


class TokenSubject(Protocol):
    """What a token says about its user (an account row or its login view)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def email_verified(self) -> bool: ...
    @property
    def roles(self) -> Sequence[str]: ...
    @property
    def valid_after(self) -> int: ...


def access_claims(
    user: TokenSubject, *, settings: AuthSettings, issued_at: int, family_id: uuid.UUID
) -> dict[str, Any]:
    """The claims of an access token for ``user``."""
    return {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user.id),
        "email": user.email,
        "email_verified": bool(user.email_verified),
        "roles": list(user.roles),
        "iat": issued_at,
        "exp": issued_at + settings.access_token_ttl,
        "jti": uuid.uuid4().hex,
        SESSION_CLAIM: str(family_id),
    }


def encode(claims: dict[str, Any], key: SigningKey) -> str:
    """Sign claims with RS256 under the key's ``kid``."""
    return jwt.encode(
        claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
    )


def session_id(token: str) -> uuid.UUID | None:
    """The ``sid`` claim of a token that was already verified, or None."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return uuid.UUID(str(claims[SESSION_CLAIM]))
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
