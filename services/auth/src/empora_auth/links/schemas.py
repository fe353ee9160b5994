"""Requests of the verification and password-reset flows."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from empora_auth.users.schemas import Email, PasswordInput
from empora_common.text import CleanText

LinkToken = Annotated[str, Field(min_length=1, max_length=4096), CleanText]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VerifyEmailIn(_Input):
    token: LinkToken


class ForgotPasswordIn(_Input):
    email: Email


class ResetPasswordIn(_Input):
    token: LinkToken
    new_password: PasswordInput


class Accepted(BaseModel):
    """A 202 answer: the request was taken; what happens next happens by email."""

    message: str
