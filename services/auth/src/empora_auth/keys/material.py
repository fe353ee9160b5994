"""RSA key material: generation, PEM, JWK and RFC 7638 thumbprints."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One RSA key: published from ``created_at``, signing from ``activates_at``."""

    kid: str
    private_key: rsa.RSAPrivateKey
    public_jwk: dict[str, Any]
    created_at: datetime
    activates_at: datetime | None
    retired_at: datetime | None


def generate_private_key(key_size: int = 2048) -> rsa.RSAPrivateKey:
    """A new RSA private key (CPU-bound: run it off the event loop)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def private_key_to_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM, unencrypted."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Parse a PEM RSA private key; ValueError for anything else."""
    key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("JWT_PRIVATE_KEY must be an RSA private key")
    if key.key_size < 2048:
        raise ValueError("JWT_PRIVATE_KEY must be at least 2048 bits")
    return key


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def thumbprint(public_jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of an RSA JWK (used as the ``kid``)."""
    canonical = json.dumps(
        {"e": public_jwk["e"], "kty": "RSA", "n": public_jwk["n"]},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The public half as a JWK with ``kid``, ``use`` and ``alg``."""
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    base = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    return {**base, "kid": thumbprint(base), "use": "sig", "alg": "RS256"}
