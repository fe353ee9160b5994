"""Signing keys: the key ring, JWKS and rotation (``empora rotate-keys`` calls ``rotate``)."""

from empora_auth.keys.service import KeyRing, KeyRotationUnavailable, RotationResult, rotate

__all__ = ["KeyRing", "KeyRotationUnavailable", "RotationResult", "rotate"]
