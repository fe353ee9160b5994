"""The notification schema's metadata and its messaging tables."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from empora_common.db import make_metadata
from empora_common.messaging.tables import inbox_table, outbox_table

SCHEMA = "notification"

metadata = make_metadata(SCHEMA)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


class Base(DeclarativeBase):
    """Declarative base of the service's models, bound to its schema."""

    metadata = metadata
