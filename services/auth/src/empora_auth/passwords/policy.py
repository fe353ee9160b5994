"""The password rules: 8..128 characters, no composition rules, not a common password."""

from __future__ import annotations

from functools import cache
from importlib import resources

from empora_auth.passwords.hashing import normalize_password
from empora_common.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower-case), loaded once."""
    text = (
        resources.files("empora_auth.passwords")
        .joinpath(COMMON_PASSWORDS_FILE)
        .read_text(encoding="utf-8")
    )
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why a password is refused, or None when it is acceptable."""
    candidate = normalize_password(password)
    if len(candidate) < MIN_LENGTH:
        return f"The password must be at least {MIN_LENGTH} characters long"
    if len(candidate) > MAX_LENGTH:
        return f"The password must be at most {MAX_LENGTH} characters long"
    lowered = candidate.lower()
    if lowered in common_passwords():
        return "This password is too common; choose a less guessable one"
    if email:
        address = email.strip().lower()
        if lowered in (address, address.partition("@")[0]):
            return "The password must not be your email address"
    return None


def check_password(password: str, *, email: str | None = None, field: str = "password") -> None:
    """Raise a 422 when the password breaks the rules."""
    problem = password_problem(password, email=email)
    if problem is not None:
        raise ValidationFailed(problem, errors=[{"field": field, "message": problem}])
