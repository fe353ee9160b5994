"""Users in and out of the API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from empora_common.constants import Role
from empora_common.identifiers import normalize_email
from empora_common.text import CleanText

# Long enough for any password we accept, short enough that nobody can make us hash megabytes.
MAX_PASSWORD_INPUT = 1024


def _blank_to_none(value: str | None) -> str | None:
    return value or None


# RFC 5322 dot-atom local part and LDH domain labels: syntax only, no DNS. Unlike
# email-validator this accepts special-use domains (.local, .test, localhost), which a local
# deployment uses (its admin is admin@empora.local by default).
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _email_address(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or len(local) > 64 or not _LOCAL_PART.match(local):
        raise ValueError("value is not a valid email address")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError("value is not a valid email address") from exc
    if not all(_DOMAIN_LABEL.match(label) for label in ascii_domain.split(".")):
        raise ValueError("value is not a valid email address")
    return normalize_email(f"{local}@{ascii_domain}")


def canonical_email(value: str) -> str:
    """The stored form of an address; a malformed one is only trimmed and lower-cased."""
    try:
        return _email_address(value.strip())
    except ValueError:
        return normalize_email(value)


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254),
    Field(json_schema_extra={"format": "email"}),
    CleanText,
    AfterValidator(_email_address),
]
NameText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), CleanText]
Name = Annotated[NameText | None, AfterValidator(_blank_to_none)]
PasswordInput = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_INPUT)]


class _Input(BaseModel):
    # Unknown fields are refused (422), so nobody can slip in roles or flags.
    model_config = ConfigDict(extra="forbid")


class RegisterIn(_Input):
    email: Email
    password: PasswordInput
    first_name: Name = None
    last_name: Name = None


class ProfilePatch(_Input):
    first_name: Name = None
    last_name: Name = None


class ChangePasswordIn(_Input):
    current_password: PasswordInput
    new_password: PasswordInput


def _unique_roles(roles: list[Role] | None) -> list[Role] | None:
    if roles is None:
        return None
    return list(dict.fromkeys(roles))


class AdminUserPatch(_Input):
    roles: Annotated[
        list[Role] | None, Field(min_length=1, max_length=8), AfterValidator(_unique_roles)
    ] = None
    is_active: StrictBool | None = None


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str | None
    roles: list[str]
    email_verified: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime
