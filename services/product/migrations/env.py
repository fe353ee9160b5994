"""Alembic environment of the product service: its own schema and version table."""

from empora_common.migrations import run_migrations
from empora_product.models import metadata

run_migrations(metadata, schema="product")
