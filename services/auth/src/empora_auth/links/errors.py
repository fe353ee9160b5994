"""Errors of the emailed-link slice."""

from __future__ import annotations

from empora_common.errors import BadRequest


class InvalidLinkToken(BadRequest):
    slug = "invalid-link-token"
    title = "Invalid or expired token"
