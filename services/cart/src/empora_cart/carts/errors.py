"""What can go wrong with a cart, each with its problem type."""

from __future__ import annotations

import uuid

from empora_common.errors import (
    Conflict,
    NotFound,
    RateLimited,
    UpstreamUnavailable,
    ValidationFailed,
)


class ProductNotFound(NotFound):
    slug = "product-not-found"
    title = "Product not found"

    def __init__(self, product_id: uuid.UUID) -> None:
        super().__init__(f"No active product {product_id}")


class CartItemNotFound(NotFound):
    slug = "cart-item-not-found"
    title = "Cart item not found"

    def __init__(self, product_id: uuid.UUID) -> None:
        super().__init__(f"The cart has no line for product {product_id}")


class InsufficientStock(Conflict):
    """More than the available stock: 409 with ``available`` (and the contract's short line)."""

    slug = "out-of-stock"
    title = "Not enough stock"

    def __init__(self, product_id: uuid.UUID, requested: int, available: int) -> None:
        super().__init__(
            f"Only {available} of this product can be bought; the cart line would hold {requested}",
            extra={
                "available": available,
                "product_id": str(product_id),
                "requested": requested,
                "short_lines": [
                    {"product_id": str(product_id), "requested": requested, "available": available}
                ],
            },
        )


class LineQuantityLimit(ValidationFailed):
    def __init__(self, limit: int, in_cart: int) -> None:
        super().__init__(
            f"A cart line holds at most {limit} units; it holds {in_cart}",
            errors=[{"field": "quantity", "message": f"at most {limit} per line"}],
        )
        self.extra.update({"max_quantity": limit, "in_cart": in_cart})


class TooManyLines(ValidationFailed):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"A cart holds at most {limit} different products",
            errors=[{"field": "product_id", "message": f"at most {limit} lines per cart"}],
        )
        self.extra["max_lines"] = limit


class GuestCartLimit(RateLimited):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, "Too many new guest carts from this address; sign in or wait")


class MergeContended(Conflict):
    slug = "cart-busy"
    title = "Cart busy"

    def __init__(self) -> None:
        super().__init__("The guest cart kept changing during the merge; try again")


class CartStoreUnavailable(UpstreamUnavailable):
    def __init__(self) -> None:
        super().__init__("Carts are unavailable right now; try again shortly")
