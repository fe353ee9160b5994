"""Access tokens for tests of services other than auth: a real RSA key and a JWKS server."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from empora_common.security import JWKS_PATH


class TestSigner:
    """Signs RS256 access tokens shaped like the auth service's."""

    __test__ = False  # not a pytest class

    def __init__(self, issuer: str = "empora-auth", audience: str = "empora") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:16]
        self.issuer = issuer
        self.audience = audience

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWKS document."""
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def token(
        self,
        user_id: uuid.UUID | str | None = None,
        *,
        email: str | None = None,
        roles: list[str] | None = None,
        email_verified: bool = True,
        ttl: int = 900,
        **overrides: Any,
    ) -> str:
        """A signed access token."""
        now = int(time.time())
        uid = str(user_id or uuid.uuid4())
        claims: dict[str, Any] = {
            "sub": uid,
            "email": email or f"user-{uid[:8]}@example.com",
            "email_verified": email_verified,
            "roles": roles or ["customer"],
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def headers(self, *args: Any, **kwargs: Any) -> dict[str, str]:
        """``{"Authorization": "Bearer ..."}`` for a new token."""
        return {"Authorization": f"Bearer {self.token(*args, **kwargs)}"}

    def jwks_app(self) -> Starlette:
        """A tiny app serving the JWKS where the auth service would."""

        async def jwks(_request: Request) -> JSONResponse:
            return JSONResponse(self.jwks())

        return Starlette(routes=[Route(JWKS_PATH, jwks)])
