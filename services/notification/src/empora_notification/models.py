"""Every table of the service, for Alembic (``migrations/env.py`` imports ``metadata``)."""

from __future__ import annotations

from empora_notification.database import inbox, metadata, outbox
from empora_notification.notifications.models import Notification

__all__ = ["Notification", "inbox", "metadata", "outbox"]
