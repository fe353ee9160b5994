"""Token requests and responses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from empora_auth.users.schemas import MAX_PASSWORD_INPUT
from empora_common.text import CleanText

OpaqueToken = Annotated[str, Field(min_length=1, max_length=4096), CleanText]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not validated as an address: a malformed one simply fails like a wrong one (401).
    email: Annotated[str, Field(min_length=1, max_length=320), CleanText]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_INPUT)]


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: OpaqueToken


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
