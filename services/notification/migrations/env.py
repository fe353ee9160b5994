"""Alembic environment of the notification service: its own schema and version table."""

from empora_common.migrations import run_migrations
from empora_notification.models import metadata

run_migrations(metadata, schema="notification")
