"""What can go wrong with a notification, as problem+json."""

from __future__ import annotations

from empora_common.errors import Conflict, NotFound


class NotificationNotFound(NotFound):
    slug = "notification-not-found"
    title = "Notification not found"


class NotificationNotFailed(Conflict):
    slug = "notification-not-failed"
    title = "Only a failed notification can be re-sent"
