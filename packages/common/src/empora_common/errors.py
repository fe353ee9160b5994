"""RFC 9457 problem details: one error type hierarchy, one set of handlers."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from empora_common.constants import PROBLEM_BASE
from empora_common.logging import current_request_id
from empora_common.responses import ProblemResponse

log = structlog.get_logger("empora.errors")

_STATUS_TITLES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation error"),
    429: ("rate-limited", "Too many requests"),
    431: ("headers-too-large", "Request header fields too large"),
    500: ("internal-error", "Internal server error"),
    502: ("bad-gateway", "Bad gateway"),
    503: ("service-unavailable", "Service unavailable"),
    504: ("gateway-timeout", "Gateway timeout"),
}


def problem_type(slug: str) -> str:
    """The stable URI of a problem type."""
    return PROBLEM_BASE + slug


def problem_body(
    status: int,
    *,
    slug: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem+json document for a status, with the contract's fields."""
    default_slug, default_title = _STATUS_TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": problem_type(slug or default_slug),
        "title": title or default_title,
        "status": status,
        "detail": detail or title or default_title,
        "instance": instance,
        "request_id": current_request_id(),
    }
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int,
    *,
    slug: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    """A problem+json response."""
    return ProblemResponse(
        problem_body(status, slug=slug, title=title, detail=detail, instance=instance, extra=extra),
        status_code=status,
        headers=headers,
    )


class EmporaError(Exception):
    """A domain error that carries its HTTP meaning; rendered as problem+json."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}
        self.headers = headers


class NotFound(EmporaError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(EmporaError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Unauthorized(EmporaError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(EmporaError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class BadRequest(EmporaError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class ValidationFailed(EmporaError):
    """422 with field errors: ``errors=[{"field": ..., "message": ...}]``."""

    status = 422
    slug = "validation-error"
    title = "Validation error"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail or "The request is not valid", extra={"errors": errors})


class RateLimited(EmporaError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class UpstreamUnavailable(EmporaError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class UpstreamTimeout(EmporaError):
    status = 504
    slug = "gateway-timeout"
    title = "Gateway timeout"


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as the contract's ``[{"field", "message"}]``."""
    return [
        {"field": _field_name(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
        for err in exc.errors()
    ]


async def _handle_empora_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, EmporaError)
    return problem_response(
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        extra=exc.extra,
        headers=exc.headers,
    )


async def _handle_validation(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    from empora_common.security import auth_error_first

    first = await auth_error_first(request)
    if first is not None:
        return await _handle_empora_error(request, first)
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return problem_response(
            400,
            slug="malformed-json",
            title="Malformed JSON",
            detail="The request body is not valid JSON",
            instance=request.url.path,
        )
    return problem_response(
        422,
        detail="The request is not valid",
        instance=request.url.path,
        extra={"errors": validation_errors(exc)},
    )


FASTAPI_BODY_ERROR = "There was an error parsing the body"


async def _handle_http(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No route for {request.method} {request.url.path}"
    if exc.status_code == 400 and detail == FASTAPI_BODY_ERROR:
        # FastAPI's answer to a body it could not decode at all (bytes that are not UTF-8):
        # the same malformed-JSON problem as a syntax error.
        return await _handle_validation_json(request, exc)
    return problem_response(
        exc.status_code,
        detail=detail,
        instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _handle_unexpected(request: Request, exc: Exception) -> ProblemResponse:
    log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(500, detail="An unexpected error occurred", instance=request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem+json: domain, validation, routing and unexpected."""
    app.add_exception_handler(EmporaError, _handle_empora_error)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(json.JSONDecodeError, _handle_validation_json)
    app.add_exception_handler(Exception, _handle_unexpected)


async def _handle_validation_json(request: Request, exc: Exception) -> ProblemResponse:
    return problem_response(
        400, slug="malformed-json", title="Malformed JSON", instance=request.url.path
    )
