"""Problem+json answers written straight to ASGI (the hot path has no framework)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Send

from empora_common.errors import problem_body

Header = tuple[bytes, bytes]

PROBLEM_CONTENT_TYPE: Header = (b"content-type", b"application/problem+json")
PROBLEM_CSP: Header = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


async def send_problem(
    send: Send,
    status: int,
    *,
    instance: str,
    headers: list[Header],
    detail: str | None = None,
    slug: str | None = None,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    close: bool = False,
) -> None:
    """Answer with the contract's problem document (request id from the context)."""
    payload = orjson.dumps(
        problem_body(status, slug=slug, title=title, detail=detail, instance=instance, extra=extra)
    )
    out: list[Header] = [
        PROBLEM_CONTENT_TYPE,
        (b"content-length", str(len(payload)).encode()),
        PROBLEM_CSP,
        *headers,
    ]
    if close:
        out.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
