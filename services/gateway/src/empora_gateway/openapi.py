"""The merged OpenAPI document: every service's public paths and components in one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import structlog

from empora_common.upstream import UpstreamError
from empora_gateway.health import Fetch

log = structlog.get_logger("empora.gateway.openapi")

REF_PREFIX = "#/components/"


def _public(path: str) -> bool:
    return path.startswith("/api/") and "/internal" not in path


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy of ``node`` with ``$ref`` targets renamed."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value in renames:
                out[key] = renames[value]
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def merge_documents(
    documents: Mapping[str, dict[str, Any]],
    *,
    title: str,
    version: str,
    unavailable: list[str],
) -> dict[str, Any]:
    """Merge OpenAPI documents (service name -> document) into one.

    Public ``/api/...`` paths are kept; components with the same name and the same content
    are shared, and a clash is resolved by prefixing the later one with its service's name
    (its ``$ref``s rewritten to match).
    """
    merged_components: dict[str, dict[str, Any]] = {}
    paths: dict[str, Any] = {}
    tags: dict[str, Any] = {}
    for service in sorted(documents):
        doc = documents[service]
        components = doc.get("components") or {}
        renames: dict[str, str] = {}
        for section, items in components.items():
            if not isinstance(items, dict):
                continue
            target = merged_components.setdefault(section, {})
            for name, value in items.items():
                existing = target.get(name)
                if existing is not None and existing != value:
                    new_name = f"{service.capitalize()}{name}"
                    renames[f"{REF_PREFIX}{section}/{name}"] = f"{REF_PREFIX}{section}/{new_name}"
        for section, items in components.items():
            if not isinstance(items, dict):
                continue
            target = merged_components[section]
            for name, value in items.items():
                ref = f"{REF_PREFIX}{section}/{name}"
                new_name = renames[ref].rsplit("/", 1)[1] if ref in renames else name
                target[new_name] = _rewrite_refs(value, renames)
        for path, item in (doc.get("paths") or {}).items():
            if _public(path):
                paths[path] = {**paths.get(path, {}), **_rewrite_refs(item, renames)}
        for tag in doc.get("tags") or []:
            if isinstance(tag, dict) and "name" in tag:
                tags.setdefault(tag["name"], tag)
    info: dict[str, Any] = {
        "title": title,
        "version": version,
        "description": "Every public route of Empora, served through the gateway.",
    }
    if unavailable:
        info["x-empora-unavailable"] = sorted(unavailable)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": info,
        "paths": dict(sorted(paths.items())),
        "components": {
            section: dict(sorted(items.items())) for section, items in merged_components.items()
        },
    }
    if tags:
        document["tags"] = list(tags.values())
    return document


class OpenApiMerger:
    """Fetches every service's ``/openapi.json`` and caches the merged result briefly."""

    def __init__(
        self,
        services: Iterable[str],
        *,
        fetch: Fetch,
        timeout: float,
        cache_seconds: float,
        own_document: dict[str, Any],
        version: str,
    ) -> None:
        self.services = list(services)
        self.fetch = fetch
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.own_document = own_document
        self.version = version
        self._cached: tuple[float, bytes] | None = None
        self._inflight: asyncio.Future[bytes] | None = None

    async def document(self) -> bytes:
        """The merged document as JSON bytes."""
        cached = self._cached
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._build())
        return await asyncio.shield(self._inflight)

    async def _build(self) -> bytes:
        names = self.services
        fetched = await asyncio.gather(*(self._fetch(n) for n in names))
        documents: dict[str, dict[str, Any]] = {"gateway": self.own_document}
        unavailable: list[str] = []
        for name, doc in zip(names, fetched, strict=True):
            if doc is None:
                unavailable.append(name)
            else:
                documents[name] = doc
        merged = orjson.dumps(
            merge_documents(
                documents, title="Empora API", version=self.version, unavailable=unavailable
            )
        )
        # A partial document is cached only briefly, so a service that comes back shows up.
        ttl = self.cache_seconds if not unavailable else min(self.cache_seconds, 2.0)
        self._cached = (time.monotonic() + ttl, merged)
        return merged

    async def _fetch(self, name: str) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(self.timeout):
                status, raw = await self.fetch(name, b"/openapi.json")
            if status != 200:
                return None
            data = orjson.loads(raw)
        except (TimeoutError, UpstreamError, orjson.JSONDecodeError) as exc:
            log.info("openapi_fetch_failed", upstream=name, error=type(exc).__name__)
            return None
        return data if isinstance(data, dict) else None
