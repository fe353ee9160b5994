"""``seed_catalog``: a realistic demo catalog, loaded idempotently."""

from __future__ import annotations

from product_api import Api
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_product.seed import catalog_is_empty, seed_catalog
from empora_product.settings import ProductSettings


class TestSeedCatalog:
    async def test_loads_the_demo_catalog_with_progress(
        self, api: Api, settings: ProductSettings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        assert await catalog_is_empty(settings)
        ticks: list[tuple[int, int]] = []
        count = await seed_catalog(settings, lambda done, total: ticks.append((done, total)))
        assert count >= 200
        assert ticks[0] == (0, count)
        assert ticks[-1] == (count, count)
        assert not await catalog_is_empty(settings)
        async with sessionmaker() as session:
            categories = await session.scalar(text("SELECT count(*) FROM product.category"))
            depths = (
                await session.execute(text("SELECT DISTINCT depth FROM product.category"))
            ).scalars()
            prices = await session.scalar(
                text("SELECT count(DISTINCT price_amount) FROM product.product")
            )
            sold_out = await session.scalar(
                text("SELECT count(*) FROM product.stock WHERE on_hand = 0")
            )
        assert categories is not None and categories >= 8
        assert set(depths) == {0, 1, 2}
        assert prices is not None and prices > 100
        assert sold_out is not None and sold_out > 0
        listing = await api.get("/api/products", params={"category": "electronics"})
        assert listing.body["meta"]["total"] > 20
        found = await api.get("/api/products", params={"q": "headphones"})
        assert found.body["data"]

    async def test_is_idempotent_and_keeps_stock_and_slugs(
        self, api: Api, settings: ProductSettings
    ) -> None:
        first = await seed_catalog(settings)
        listing = await api.get("/api/products", params={"limit": 1})
        product = listing.body["data"][0]
        await api.put(
            f"/api/products/{product['id']}/stock", json={"quantity": 777}, headers=api.admin
        )
        await api.patch(f"/api/products/{product['id']}", json={"slug": "kept"}, headers=api.admin)
        second = await seed_catalog(settings)
        assert first == second
        after = await api.get("/api/products", params={"limit": 1})
        assert after.body["meta"]["total"] == listing.body["meta"]["total"]
        assert (await api.stock(product["id"]))["on_hand"] == 777
        assert (await api.get("/api/products/kept")).body["id"] == product["id"]
        tree = await api.get("/api/categories")
        assert len(tree.body) == 5
