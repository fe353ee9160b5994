"""The demo catalog generated in code."""

from __future__ import annotations

from empora_product.seed.catalog import build_catalog


class TestBuildCatalog:
    def test_is_deterministic(self) -> None:
        assert build_catalog() == build_catalog()

    def test_is_big_and_varied_enough(self) -> None:
        catalog = build_catalog()
        assert len(catalog.products) >= 200
        assert len(catalog.categories) >= 8
        assert len({p.sku for p in catalog.products}) == len(catalog.products)
        assert len({p.slug for p in catalog.products}) == len(catalog.products)
        assert len({p.price_amount for p in catalog.products}) > 100
        assert any(p.stock == 0 for p in catalog.products)
        assert all(p.attributes and p.images and p.description for p in catalog.products)

    def test_categories_have_two_or_three_levels(self) -> None:
        catalog = build_catalog()
        parents = {c.slug: c.parent_slug for c in catalog.categories}

        def depth(slug: str) -> int:
            parent = parents[slug]
            return 0 if parent is None else 1 + depth(parent)

        assert {depth(slug) for slug in parents} == {0, 1, 2}
        used = {p.category_slug for p in catalog.products}
        assert used <= set(parents)
