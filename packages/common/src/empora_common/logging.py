"""structlog JSON logging with the request id bound to every line."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

import structlog
import structlog.tracebacks

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return _request_id.get()


def set_request_id(request_id: str | None) -> object:
    """Bind a request id to this context; returns a token for ``reset_request_id``."""
    return _request_id.set(request_id)


def reset_request_id(token: object) -> None:
    """Undo ``set_request_id``."""
    _request_id.reset(token)  # type: ignore[arg-type]


def _add_request_id(
    _logger: object, _name: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    rid = _request_id.get()
    if rid is not None and "request_id" not in event:
        event["request_id"] = rid
    return event


def configure_logging(service: str, level: str = "INFO", json_logs: bool = True) -> None:
    """Configure structlog and the standard library to emit one JSON object per line."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Frames without their local variables: locals hold request headers (tokens,
            # the internal credential), settings and user data that must not reach the logs.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.EventRenamer("message"),
            lambda _l, _n, e: {"service": service, **e},
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stdout, format="%(message)s")
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
