"""Errors of the categories slice."""

from __future__ import annotations

from empora_common.errors import Conflict, NotFound


class CategoryNotFound(NotFound):
    slug = "category-not-found"
    title = "Category not found"


class CategorySlugTaken(Conflict):
    slug = "slug-taken"
    title = "Slug already in use"


class CategoryCycle(Conflict):
    slug = "category-cycle"
    title = "A category cannot move under itself or its descendants"


class CategoryNotEmpty(Conflict):
    slug = "category-not-empty"
    title = "The category has children or products"
