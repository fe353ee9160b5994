from __future__ import annotations

from product_api import Api


class TestSmoke:
    async def test_create_and_read(self, api: Api) -> None:
        cat = await api.create_category("Audio")
        product = await api.create_product(
            "SKU-1", "Wireless Headphones", stock=5, category_id=cat["id"]
        )
        reply = await api.get(f"/api/products/{product['slug']}")
        assert reply.status == 200, reply.body
        assert reply.body["stock"] == {"available": 5, "in_stock": True}
        listing = await api.get("/api/products", params={"q": "hedphones"})
        assert listing.status == 200, listing.body
        assert listing.body["data"][0]["id"] == product["id"]
