"""Errors of the users slice."""

from __future__ import annotations

from empora_common.errors import Conflict, NotFound


class EmailTaken(Conflict):
    slug = "email-taken"
    title = "Email already registered"


class UserNotFound(NotFound):
    slug = "user-not-found"
    title = "User not found"


class CannotChangeOwnAccess(Conflict):
    slug = "cannot-change-own-access"
    title = "Administrators cannot demote, deactivate or delete themselves"
