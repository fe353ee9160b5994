"""The product service's batch lookup: names, SKUs, current prices and stock of cart lines."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from empora_common.errors import UpstreamUnavailable
from empora_common.http import InternalClient
from empora_common.money import Money

log = structlog.get_logger("empora.cart.catalog")

LOOKUP_PATH = "/internal/products/lookup"
# The lookup route accepts at most this many ids per call.
MAX_IDS_PER_LOOKUP = 200


class CatalogProduct(BaseModel):
    """One product as the lookup describes it (unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID
    sku: str
    slug: str = ""
    name: str
    price: Money
    is_active: bool
    on_hand: int = 0
    reserved: int = 0
    available: int


# What a lookup learnt: each id asked about, with its product or None (no such product).
Products = Mapping[uuid.UUID, CatalogProduct | None]


class _LookupReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    products: list[CatalogProduct]


class Catalog:
    """Asks the product service about products, one call for many ids."""

    def __init__(self, http: InternalClient, product_url: str, *, timeout: float) -> None:
        self._http = http
        self._url = product_url.rstrip("/") + LOOKUP_PATH
        self._timeout = timeout

    async def lookup(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CatalogProduct | None]:
        """Every id asked about, with its product (archived ones inactive) or None."""
        wanted = sorted(set(ids), key=str)
        found: dict[uuid.UUID, CatalogProduct | None] = dict.fromkeys(wanted)
        # A cart never holds more than the route's limit, so this is one call in practice.
        for start in range(0, len(wanted), MAX_IDS_PER_LOOKUP):
            chunk = wanted[start : start + MAX_IDS_PER_LOOKUP]
            reply = await self._http.request(
                "POST",
                self._url,
                json={"ids": [str(i) for i in chunk]},
                timeout=self._timeout,
            )
            if reply.status != 200:
                log.error("product_lookup_failed", status=reply.status)
                raise UpstreamUnavailable("The product catalog is unavailable")
            try:
                products = _LookupReply.model_validate(reply.body).products
            except ValidationError as exc:
                log.error("product_lookup_malformed", error=str(exc)[:300])
                raise UpstreamUnavailable("The product catalog is unavailable") from exc
            found.update((p.id, p) for p in products if p.id in found)
        return found
