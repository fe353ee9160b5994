"""Checks of a FastAPI app's routes that tests of every service run."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


def api_routes(routes: Any) -> Iterator[APIRoute]:
    """Every APIRoute of an app or router, including those of included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        for attr in ("routes", "original_router"):
            inner = getattr(route, attr, None)
            if inner is None or inner is route:
                continue
            yield from api_routes(inner if isinstance(inner, list) else inner.routes)


def _sync_calls(dependant: Dependant) -> Iterator[str]:
    call = dependant.call
    if call is not None and not (
        inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
    ):
        yield f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', call)}"
    for sub in dependant.dependencies:
        yield from _sync_calls(sub)


def sync_dependencies(app: FastAPI) -> set[str]:
    """Endpoints and dependencies written as plain ``def``: FastAPI runs each in a worker
    thread on every request, a hop that costs more than such small functions do."""
    return {
        f"{route.path}: {name}"
        for route in api_routes(app.routes)
        for name in _sync_calls(route.dependant)
    }
