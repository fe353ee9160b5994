"""Errors of the stock slice."""

from __future__ import annotations

from typing import Any

from empora_common.errors import Conflict, NotFound


class OutOfStock(Conflict):
    """409 with ``short_lines: [{"product_id", "requested", "available"}]``."""

    slug = "out-of-stock"
    title = "Out of stock"

    def __init__(self, short_lines: list[dict[str, Any]]) -> None:
        super().__init__("Not enough stock for some lines", extra={"short_lines": short_lines})
        self.short_lines = short_lines


class StockBelowReserved(Conflict):
    slug = "stock-below-reserved"
    title = "Stock would fall below the reserved quantity"


class ReservationNotFound(NotFound):
    slug = "reservation-not-found"
    title = "Reservation not found"


class ReservationCommitted(Conflict):
    slug = "reservation-committed"
    title = "Reservation already committed"


class ReservationReleased(Conflict):
    slug = "reservation-released"
    title = "Reservation released"
