"""The auth schema's MetaData, declarative base and messaging tables."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from empora_common.db import make_metadata
from empora_common.messaging.tables import inbox_table, outbox_table

SCHEMA = "auth"

metadata = make_metadata(SCHEMA)


class Base(DeclarativeBase):
    """Base of the auth service's mapped classes."""

    metadata = metadata


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
