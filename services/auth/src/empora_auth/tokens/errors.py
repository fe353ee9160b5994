"""Errors of the tokens slice."""

from __future__ import annotations

from empora_common.errors import Unauthorized


class InvalidCredentials(Unauthorized):
    """The one answer for an unknown email, a wrong password or a disabled account."""

    slug = "invalid-credentials"
    title = "Invalid email or password"


class InvalidRefreshToken(Unauthorized):
    slug = "invalid-refresh-token"
    title = "Invalid refresh token"
