"""Alembic environment of the auth service: its own schema and version table."""

from empora_auth.models import metadata
from empora_common.migrations import run_migrations

run_migrations(metadata, schema="auth")
