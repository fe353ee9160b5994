"""Errors of the products slice."""

from __future__ import annotations

from empora_common.errors import Conflict, NotFound


class ProductNotFound(NotFound):
    slug = "product-not-found"
    title = "Product not found"


class SkuTaken(Conflict):
    slug = "sku-taken"
    title = "SKU already in use"


class SlugTaken(Conflict):
    slug = "slug-taken"
    title = "Slug already in use"
