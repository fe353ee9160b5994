"""URL slugs: generated from names, validated when given."""

from __future__ import annotations

import re
import unicodedata
import uuid

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_SLUG_LENGTH = 120
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, fallback: str = "item") -> str:
    """``"Wireless Headphones — Pro!"`` -> ``"wireless-headphones-pro"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")
    slug = slug[:MAX_SLUG_LENGTH].rstrip("-")
    if not slug or looks_like_uuid(slug):
        return fallback
    return slug


def looks_like_uuid(value: str) -> bool:
    """True when a slug could be mistaken for an id (ids and slugs share one route)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def with_suffix(base: str, taken: set[str]) -> str:
    """``base`` if free, else the first free ``base-2``, ``base-3``, ..."""
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: MAX_SLUG_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1


def findable(value: str) -> bool:
    """Whether a path segment can name anything at all (PostgreSQL text holds no NUL)."""
    return "\x00" not in value


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID in a path segment, or None when it is a slug."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
