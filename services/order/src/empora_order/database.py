"""The order schema's MetaData and its messaging tables (every slice's tables share it)."""

from __future__ import annotations

from empora_common.db import make_metadata
from empora_common.messaging.tables import inbox_table, outbox_table

SCHEMA = "order"

metadata = make_metadata(SCHEMA)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
