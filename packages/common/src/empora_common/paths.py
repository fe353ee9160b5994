"""Where things are in a checkout."""

from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The workspace root (packages/common/src/empora_common -> four levels up)."""
    return Path(__file__).resolve().parents[4]


def migrations_dir(service: str) -> Path:
    """A service's Alembic folder."""
    return repo_root() / "services" / service / "migrations"


def state_dir() -> Path:
    """``.empora/`` in the checkout: PIDs, private servers, generated secrets."""
    return repo_root() / ".empora"
