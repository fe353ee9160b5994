"""The Redis cache is never stale after an admin change; stock is always live."""

from __future__ import annotations

from product_api import Api
from redis.asyncio import Redis

from empora_product.settings import ProductSettings


async def cached_keys(redis: Redis, settings: ProductSettings) -> list[str]:
    return [k async for k in redis.scan_iter(f"{settings.redis_prefix}product:cache:*:*")]


class TestCatalogCache:
    async def test_detail_and_listing_are_cached(
        self, api: Api, redis: Redis, settings: ProductSettings
    ) -> None:
        product = await api.create_product("C-1")
        await api.get(f"/api/products/{product['id']}")
        await api.get("/api/products")
        keys = await cached_keys(redis, settings)
        gen = await redis.get(f"{settings.redis_prefix}product:cache:gen")
        assert any(k.endswith(f":product:{product['id']}") and f":{gen}:" in k for k in keys)
        assert any(":list:" in k for k in keys)

    async def test_detail_is_never_stale_after_an_edit(self, api: Api) -> None:
        product = await api.create_product("C-2", "Before", price=100)
        path = f"/api/products/{product['id']}"
        assert (await api.get(path)).body["name"] == "Before"
        assert (await api.get(path)).body["name"] == "Before"  # served from the cache
        await api.patch(path, json={"name": "After", "price": 200}, headers=api.admin)
        after = (await api.get(path)).body
        assert after["name"] == "After"
        assert after["price"]["amount"] == 200

    async def test_listing_is_never_stale_after_create_edit_or_archive(self, api: Api) -> None:
        first = await api.create_product("C-3", price=100)
        assert [p["sku"] for p in (await api.get("/api/products")).body["data"]] == ["C-3"]
        await api.create_product("C-4")
        assert len((await api.get("/api/products")).body["data"]) == 2
        await api.patch(f"/api/products/{first['id']}", json={"price": 900}, headers=api.admin)
        listed = {p["sku"]: p for p in (await api.get("/api/products")).body["data"]}
        assert listed["C-3"]["price"]["amount"] == 900
        await api.delete(f"/api/products/{first['id']}", headers=api.admin)
        assert [p["sku"] for p in (await api.get("/api/products")).body["data"]] == ["C-4"]

    async def test_category_changes_invalidate_listings(self, api: Api) -> None:
        old = await api.create_category("Old")
        new = await api.create_category("New")
        child = await api.create_category("Child", old["id"])
        await api.create_product("C-5", category_id=child["id"])
        assert len((await api.get("/api/products", params={"category": "new"})).body["data"]) == 0
        await api.patch(
            f"/api/categories/{child['id']}", json={"parent_id": new["id"]}, headers=api.admin
        )
        moved = await api.get("/api/products", params={"category": "new"})
        assert [p["sku"] for p in moved.body["data"]] == ["C-5"]
        assert (await api.get("/api/products", params={"category": "old"})).body["data"] == []

    async def test_stock_is_live_without_flushing_the_cache(
        self, api: Api, redis: Redis, settings: ProductSettings
    ) -> None:
        product = await api.create_product("C-6", stock=5)
        path = f"/api/products/{product['id']}"
        await api.get(path)
        await api.get("/api/products")
        gen_key = f"{settings.redis_prefix}product:cache:gen"
        generation = await redis.get(gen_key)
        reply = await api.reserve([(product["id"], 5)])
        assert reply.status == 201
        assert await redis.get(gen_key) == generation  # a checkout does not flush the cache
        assert (await api.get(path)).body["stock"] == {"available": 0, "in_stock": False}
        listed = (await api.get("/api/products")).body["data"][0]
        assert listed["stock"] == {"available": 0, "in_stock": False}
        in_stock = await api.get("/api/products", params={"in_stock": "true"})
        assert in_stock.body["data"] == []

    async def test_cached_pages_and_details_match_the_uncached_ones(self, api: Api) -> None:
        product = await api.create_product("C-7", stock=3)
        archived = await api.create_product("C-8", stock=2, is_active=False)
        for path in (
            f"/api/products/{archived['id']}",
            "/api/products",
            "/api/products?page=9",
            f"/api/products/{product['id']}",
            f"/api/products/{product['slug']}",
        ):
            first = await api.get(path)  # filled from the database
            again = await api.get(path)  # served from the cache
            assert first.status == again.status == 200
            assert again.body == first.body
        assert (await api.get("/api/products?page=9")).body["data"] == []
        listed = (await api.get("/api/products")).body["data"]
        assert [(p["sku"], p["stock"]) for p in listed] == [
            ("C-7", {"available": 3, "in_stock": True})
        ]
        shown = (await api.get(f"/api/products/{archived['id']}")).body
        assert shown["stock"] == {"available": 2, "in_stock": False}
