"""Alembic environment of the order service: its own schema and version table."""

from empora_common.migrations import run_migrations
from empora_order.models import metadata

run_migrations(metadata, schema="order")
