"""Text a client sends that PostgreSQL or UTF-8 cannot hold is invalid input (422), not a 500.

JSON can carry ``\\u0000`` and unpaired surrogate escapes (``\\ud800``); Python's ``json`` turns
them into ``str`` values that PostgreSQL's ``text`` refuses (NUL) or that cannot be encoded at
all (lone surrogates). Request fields use :data:`CleanText` (pydantic metadata) and query
parameters :func:`check_query_text`.
"""

from __future__ import annotations

from pydantic import AfterValidator

from empora_common.errors import ValidationFailed

NUL_MESSAGE = "must not contain NUL characters"
SURROGATE_MESSAGE = "must not contain unpaired UTF-16 surrogates"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return NUL_MESSAGE
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def clean_text(value: str) -> str:
    """A pydantic after-validator: ``value`` unchanged, or a ``ValueError`` (422)."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# ``Annotated[str, StringConstraints(...), CleanText]``
CleanText = AfterValidator(clean_text)


def check_query_text(**params: str | None) -> None:
    """422 naming the first query parameter that cannot be stored as text."""
    for name, value in params.items():
        if value is not None and (problem := text_problem(value)) is not None:
            raise ValidationFailed(errors=[{"field": name, "message": problem}])
