"""The event envelope of the API contract."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Envelope(BaseModel):
    """``{"id", "type", "version", "occurred_at", "producer", "aggregate_id", "sequence",
    "correlation_id", "data"}``."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    type: str = Field(min_length=1)
    version: int = Field(ge=1)
    occurred_at: datetime
    producer: str
    aggregate_id: str | None = None
    sequence: int = 0
    correlation_id: str | None = None
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        """The wire form."""
        return orjson.dumps(self.model_dump(mode="json"))


class MalformedEvent(ValueError):
    """A message that is not a valid envelope: it goes to the dead-letter queue."""


def parse_envelope(body: bytes) -> Envelope:
    """An Envelope from the wire, or MalformedEvent."""
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedEvent(str(exc)) from exc
