"""The product and cart services' internal routes, as docs/internal-api.md defines them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog

from empora_common.errors import Conflict, UpstreamUnavailable
from empora_common.http import InternalClient, UpstreamResponse
from empora_order.orders.errors import OutOfStock

log = structlog.get_logger("empora.order.clients")


@dataclass(frozen=True, slots=True)
class CartItem:
    product_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class CartView:
    """A user's cart as the cart service's internal route shows it."""

    id: uuid.UUID
    version: int
    items: list[CartItem]


@dataclass(frozen=True, slots=True)
class ReservedLine:
    product_id: uuid.UUID
    sku: str
    name: str
    quantity: int
    unit_price: int
    currency: str


@dataclass(frozen=True, slots=True)
class Reservation:
    id: uuid.UUID
    status: str
    lines: list[ReservedLine]


class ReservationCommitted(Conflict):
    slug = "reservation-committed"
    title = "Reservation already committed"


def _unexpected(service: str, resp: UpstreamResponse) -> UpstreamUnavailable:
    log.warning("upstream_unexpected_status", service=service, status=resp.status)
    return UpstreamUnavailable(f"The {service} service answered {resp.status}")


def _short_lines(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("short_lines"), list):
        return list(body["short_lines"])
    return []


class CartClient:
    """``/internal/carts/...`` of the cart service."""

    def __init__(self, http: InternalClient, base_url: str, timeout: float) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    async def read(self, user_id: uuid.UUID) -> CartView:
        """The user's cart with its stable id and version."""
        resp = await self._http.request(
            "GET", f"{self._base}/internal/carts/users/{user_id}", timeout=self._timeout
        )
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise _unexpected("cart", resp)
        return CartView(
            id=uuid.UUID(str(resp.body["id"])),
            version=int(resp.body.get("version", 0)),
            items=[
                CartItem(uuid.UUID(str(i["product_id"])), int(i["quantity"]))
                for i in resp.body.get("items", [])
                if int(i.get("quantity", 0)) > 0
            ],
        )

    async def subtract(
        self, user_id: uuid.UUID, order_id: uuid.UUID, lines: list[dict[str, Any]]
    ) -> None:
        """Remove what an order bought (idempotent per order)."""
        resp = await self._http.request(
            "POST",
            f"{self._base}/internal/carts/users/{user_id}/subtract",
            json={"order_id": str(order_id), "lines": lines},
            timeout=self._timeout,
        )
        if resp.status != 200:
            raise _unexpected("cart", resp)


class ProductClient:
    """``/internal/reservations`` and ``/internal/returns`` of the product service."""

    def __init__(self, http: InternalClient, base_url: str, timeout: float) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    async def reserve(
        self,
        reservation_id: uuid.UUID,
        order_id: uuid.UUID,
        lines: list[dict[str, Any]],
        ttl_seconds: int,
    ) -> Reservation:
        """Reserve all lines or none (idempotent per reservation id); OutOfStock when short."""
        resp = await self._http.request(
            "POST",
            f"{self._base}/internal/reservations",
            json={
                "reservation_id": str(reservation_id),
                "order_id": str(order_id),
                "lines": sorted(lines, key=lambda line: str(line["product_id"])),
                "ttl_seconds": ttl_seconds,
            },
            timeout=self._timeout,
        )
        if resp.status == 409:
            raise OutOfStock(_short_lines(resp.body))
        if resp.status not in (200, 201) or not isinstance(resp.body, dict):
            raise _unexpected("product", resp)
        body = resp.body
        return Reservation(
            id=uuid.UUID(str(body["reservation_id"])),
            status=str(body.get("status", "active")),
            lines=[
                ReservedLine(
                    product_id=uuid.UUID(str(line["product_id"])),
                    sku=str(line["sku"]),
                    name=str(line["name"]),
                    quantity=int(line["quantity"]),
                    unit_price=int(line["unit_price"]["amount"]),
                    currency=str(line["unit_price"]["currency"]),
                )
                for line in body.get("lines", [])
            ],
        )

    async def commit(self, reservation_id: uuid.UUID) -> None:
        """The reserved stock leaves on_hand (idempotent); OutOfStock if it is gone."""
        resp = await self._http.request(
            "POST",
            f"{self._base}/internal/reservations/{reservation_id}/commit",
            timeout=self._timeout,
        )
        if resp.status == 409:
            raise OutOfStock(_short_lines(resp.body))
        if resp.status != 200:
            raise _unexpected("product", resp)

    async def release(self, reservation_id: uuid.UUID) -> None:
        """Give reserved stock back (idempotent; an unknown reservation is nothing to do)."""
        resp = await self._http.request(
            "POST",
            f"{self._base}/internal/reservations/{reservation_id}/release",
            timeout=self._timeout,
        )
        if resp.status == 409:
            raise ReservationCommitted("The reservation was committed; it cannot be released")
        if resp.status not in (200, 404):
            raise _unexpected("product", resp)

    async def return_stock(self, order_id: uuid.UUID, lines: list[dict[str, Any]]) -> None:
        """Put a cancelled order's stock back (idempotent per order)."""
        resp = await self._http.request(
            "POST",
            f"{self._base}/internal/returns",
            json={"order_id": str(order_id), "lines": lines},
            timeout=self._timeout,
        )
        if resp.status != 200:
            raise _unexpected("product", resp)
