"""``/api/products``: CRUD, every contract error, listing, filters and sorts."""

from __future__ import annotations

import uuid

from product_api import Api, assert_problem


class TestCreateProduct:
    async def test_creates_with_generated_slug_money_and_stock(self, api: Api) -> None:
        reply = await api.post(
            "/api/products",
            json={
                "sku": "HP-1",
                "name": "Wireless Headphones Pro",
                "description": "Noise cancelling.",
                "price": {"amount": 1999, "currency": "USD"},
                "images": ["https://cdn.example.com/hp.jpg"],
                "attributes": {"color": "black"},
                "stock": 7,
            },
            headers=api.admin,
        )
        assert reply.status == 201, reply.body
        body = reply.body
        assert body["slug"] == "wireless-headphones-pro"
        assert body["price"] == {"amount": 1999, "currency": "USD"}
        assert body["images"] == ["https://cdn.example.com/hp.jpg"]
        assert body["attributes"] == {"color": "black"}
        assert body["stock"] == {"available": 7, "in_stock": True}
        assert body["is_active"] is True
        assert body["category_id"] is None
        assert body["created_at"].endswith("Z")
        uuid.UUID(body["id"])

    async def test_accepts_a_bare_integer_price_in_the_store_currency(self, api: Api) -> None:
        product = await api.create_product("INT-1", price=2500)
        assert product["price"] == {"amount": 2500, "currency": "USD"}

    async def test_accepts_initial_stock_as_a_number_or_an_object(self, api: Api) -> None:
        for sku, stock in (("ST-N", 4), ("ST-O", {"on_hand": 4}), ("ST-Q", {"quantity": 4})):
            reply = await api.post(
                "/api/products",
                json={"sku": sku, "name": sku, "price": 100, "stock": stock},
                headers=api.admin,
            )
            assert reply.status == 201, reply.body
            assert reply.body["stock"] == {"available": 4, "in_stock": True}
        reply = await api.post(
            "/api/products",
            json={"sku": "ST-X", "name": "x", "price": 100, "stock": -1},
            headers=api.admin,
        )
        assert reply.status == 422

    async def test_generated_slug_gets_a_suffix_when_taken(self, api: Api) -> None:
        first = await api.create_product("A-1", "Desk Lamp")
        second = await api.create_product("A-2", "Desk Lamp")
        assert first["slug"] == "desk-lamp"
        assert second["slug"] == "desk-lamp-2"

    async def test_rejects_a_duplicate_sku(self, api: Api) -> None:
        await api.create_product("DUP-1")
        reply = await api.post(
            "/api/products", json={"sku": "DUP-1", "name": "Other", "price": 1}, headers=api.admin
        )
        assert_problem(reply, 409, "sku-taken")

    async def test_rejects_a_duplicate_slug(self, api: Api) -> None:
        await api.create_product("S-1", slug="the-slug")
        reply = await api.post(
            "/api/products",
            json={"sku": "S-2", "name": "Other", "price": 1, "slug": "the-slug"},
            headers=api.admin,
        )
        assert_problem(reply, 409, "slug-taken")

    async def test_requires_a_token(self, api: Api) -> None:
        reply = await api.post("/api/products", json={"sku": "X", "name": "X", "price": 1})
        assert_problem(reply, 401)

    async def test_rejects_an_invalid_token(self, api: Api) -> None:
        reply = await api.post(
            "/api/products",
            json={"sku": "X", "name": "X", "price": 1},
            headers={"Authorization": "Bearer not-a-jwt"},
        )
        assert_problem(reply, 401)

    async def test_forbids_customers(self, api: Api) -> None:
        reply = await api.post(
            "/api/products", json={"sku": "X", "name": "X", "price": 1}, headers=api.customer
        )
        assert_problem(reply, 403)

    async def test_auth_is_checked_before_validation(self, api: Api) -> None:
        reply = await api.post("/api/products", json={"sku": ""}, headers=api.customer)
        assert_problem(reply, 403)

    async def test_rejects_malformed_json(self, api: Api) -> None:
        reply = await api.post(
            "/api/products",
            data=b'{"sku": ',
            headers={**api.admin, "Content-Type": "application/json"},
        )
        assert_problem(reply, 400)

    async def test_rejects_invalid_fields_with_field_errors(self, api: Api) -> None:
        cases = [
            {"sku": "V-1", "name": "N", "price": -1},
            {"sku": "V-1", "name": "", "price": 1},
            {"sku": "bad sku", "name": "N", "price": 1},
            {"sku": "V-1", "name": "N", "price": 1, "images": ["ftp://x"]},
            {"sku": "V-1", "name": "N", "price": 1, "attributes": {"size": 42}},
            {"sku": "V-1", "name": "N", "price": 1, "slug": "Not A Slug"},
            {"sku": "V-1", "name": "N", "price": 1, "slug": str(uuid.uuid4())},
            {"sku": "V-1", "name": "N", "price": 1.5},
            {"sku": "V-1", "name": "N", "price": 1, "unknown": True},
            {"sku": "V-1", "name": "N"},
        ]
        for body in cases:
            reply = await api.post("/api/products", json=body, headers=api.admin)
            assert_problem(reply, 422)
            assert reply.body["errors"], body
            assert {"field", "message"} <= set(reply.body["errors"][0])

    async def test_rejects_another_currency(self, api: Api) -> None:
        reply = await api.post(
            "/api/products",
            json={"sku": "EUR-1", "name": "N", "price": {"amount": 1, "currency": "EUR"}},
            headers=api.admin,
        )
        assert_problem(reply, 422)
        assert reply.body["errors"][0]["field"] == "price.currency"

    async def test_rejects_an_unknown_category(self, api: Api) -> None:
        reply = await api.post(
            "/api/products",
            json={"sku": "C-1", "name": "N", "price": 1, "category_id": str(uuid.uuid4())},
            headers=api.admin,
        )
        assert_problem(reply, 422)
        assert reply.body["errors"][0]["field"] == "category_id"


class TestGetProduct:
    async def test_finds_by_id_and_by_slug(self, api: Api) -> None:
        product = await api.create_product("G-1", "Oak Desk", stock=3)
        by_id = await api.get(f"/api/products/{product['id']}")
        by_slug = await api.get(f"/api/products/{product['slug']}")
        assert by_id.status == by_slug.status == 200
        assert by_id.body == by_slug.body
        assert by_id.body["stock"] == {"available": 3, "in_stock": True}

    async def test_unknown_product_is_404(self, api: Api) -> None:
        assert_problem(await api.get(f"/api/products/{uuid.uuid4()}"), 404, "product-not-found")
        assert_problem(await api.get("/api/products/no-such-slug"), 404, "product-not-found")

    async def test_is_public(self, api: Api) -> None:
        product = await api.create_product("G-2")
        reply = await api.get(f"/api/products/{product['id']}")
        assert reply.status == 200
        assert reply.headers["X-Request-ID"]


class TestUpdateProduct:
    async def test_changes_the_fields_sent_and_keeps_the_slug(self, api: Api) -> None:
        product = await api.create_product("U-1", "Old Name", price=1000)
        reply = await api.patch(
            f"/api/products/{product['id']}",
            json={"name": "New Name", "price": {"amount": 1500, "currency": "USD"}},
            headers=api.admin,
        )
        assert reply.status == 200, reply.body
        assert reply.body["name"] == "New Name"
        assert reply.body["slug"] == product["slug"] == "old-name"
        assert reply.body["price"]["amount"] == 1500
        assert reply.body["sku"] == "U-1"

    async def test_moves_to_a_category_and_clears_it(self, api: Api) -> None:
        category = await api.create_category("Lamps")
        product = await api.create_product("U-2")
        moved = await api.patch(
            f"/api/products/{product['id']}",
            json={"category_id": category["id"]},
            headers=api.admin,
        )
        assert moved.body["category_id"] == category["id"]
        cleared = await api.patch(
            f"/api/products/{product['id']}", json={"category_id": None}, headers=api.admin
        )
        assert cleared.body["category_id"] is None

    async def test_unknown_product_is_404_before_validation(self, api: Api) -> None:
        reply = await api.patch(
            f"/api/products/{uuid.uuid4()}", json={"price": -5}, headers=api.admin
        )
        assert_problem(reply, 404)

    async def test_rejects_a_taken_sku(self, api: Api) -> None:
        await api.create_product("U-3")
        other = await api.create_product("U-4")
        reply = await api.patch(
            f"/api/products/{other['id']}", json={"sku": "U-3"}, headers=api.admin
        )
        assert_problem(reply, 409, "sku-taken")

    async def test_rejects_null_for_required_fields(self, api: Api) -> None:
        product = await api.create_product("U-5")
        reply = await api.patch(
            f"/api/products/{product['id']}", json={"name": None}, headers=api.admin
        )
        assert_problem(reply, 422)

    async def test_forbids_customers(self, api: Api) -> None:
        product = await api.create_product("U-6")
        reply = await api.patch(
            f"/api/products/{product['id']}", json={"name": "x"}, headers=api.customer
        )
        assert_problem(reply, 403)


class TestArchiveProduct:
    async def test_archived_product_leaves_listings_but_stays_readable(self, api: Api) -> None:
        product = await api.create_product("D-1", stock=4)
        await api.create_product("D-2")
        reply = await api.delete(f"/api/products/{product['id']}", headers=api.admin)
        assert reply.status == 204
        assert reply.body is None
        listing = await api.get("/api/products")
        assert [p["sku"] for p in listing.body["data"]] == ["D-2"]
        assert listing.body["meta"]["total"] == 1
        detail = await api.get(f"/api/products/{product['id']}")
        assert detail.body["is_active"] is False
        assert detail.body["stock"]["in_stock"] is False

    async def test_unknown_product_is_404(self, api: Api) -> None:
        assert_problem(await api.delete(f"/api/products/{uuid.uuid4()}", headers=api.admin), 404)

    async def test_requires_admin(self, api: Api) -> None:
        product = await api.create_product("D-3")
        assert_problem(await api.delete(f"/api/products/{product['id']}"), 401)
        assert_problem(
            await api.delete(f"/api/products/{product['id']}", headers=api.customer), 403
        )


class TestListProducts:
    async def test_pages_never_repeat_or_skip(self, api: Api) -> None:
        # Equal prices force the tie-breakers to decide.
        created = {(await api.create_product(f"P-{i:02d}", price=500))["id"] for i in range(7)}
        seen: list[str] = []
        for page in (1, 2, 3):
            reply = await api.get(
                "/api/products", params={"page": page, "limit": 3, "sort": "price"}
            )
            assert reply.status == 200
            assert reply.body["meta"] == {"page": page, "limit": 3, "total": 7, "total_pages": 3}
            seen += [p["id"] for p in reply.body["data"]]
        assert len(seen) == 7
        assert set(seen) == created

    async def test_a_page_past_the_end_is_empty_with_the_total(self, api: Api) -> None:
        await api.create_product("E-1")
        reply = await api.get("/api/products", params={"page": 5, "limit": 10})
        assert reply.body == {
            "data": [],
            "meta": {"page": 5, "limit": 10, "total": 1, "total_pages": 1},
        }

    async def test_default_sort_is_newest_first(self, api: Api) -> None:
        for sku in ("N-1", "N-2", "N-3"):
            await api.create_product(sku)
        reply = await api.get("/api/products")
        assert [p["sku"] for p in reply.body["data"]] == ["N-3", "N-2", "N-1"]

    async def test_sorts_by_price_and_name(self, api: Api) -> None:
        await api.create_product("S-1", "Banana", price=300)
        await api.create_product("S-2", "Apple", price=100)
        await api.create_product("S-3", "Cherry", price=200)

        async def skus(sort: str) -> list[str]:
            reply = await api.get("/api/products", params={"sort": sort})
            assert reply.status == 200, reply.body
            return [p["sku"] for p in reply.body["data"]]

        assert await skus("price") == ["S-2", "S-3", "S-1"]
        assert await skus("-price") == ["S-1", "S-3", "S-2"]
        assert await skus("name") == ["S-2", "S-1", "S-3"]
        assert await skus("-created_at") == ["S-3", "S-2", "S-1"]

    async def test_filters_by_price_range(self, api: Api) -> None:
        for i, price in enumerate((100, 200, 300, 400)):
            await api.create_product(f"R-{i}", price=price)
        reply = await api.get("/api/products", params={"min_price": 200, "max_price": 300})
        assert sorted(p["price"]["amount"] for p in reply.body["data"]) == [200, 300]

    async def test_filters_by_stock(self, api: Api) -> None:
        await api.create_product("IS-1", stock=2)
        await api.create_product("IS-2")
        in_stock = await api.get("/api/products", params={"in_stock": "true"})
        out = await api.get("/api/products", params={"in_stock": "false"})
        assert [p["sku"] for p in in_stock.body["data"]] == ["IS-1"]
        assert [p["sku"] for p in out.body["data"]] == ["IS-2"]

    async def test_category_filter_takes_id_or_slug_and_includes_descendants(
        self, api: Api
    ) -> None:
        root = await api.create_category("Electronics")
        audio = await api.create_category("Audio", root["id"])
        headphones = await api.create_category("Headphones", audio["id"])
        other = await api.create_category("Garden")
        await api.create_product("CF-1", category_id=headphones["id"])
        await api.create_product("CF-2", category_id=audio["id"])
        await api.create_product("CF-3", category_id=other["id"])
        await api.create_product("CF-4")

        async def skus(category: str) -> set[str]:
            reply = await api.get("/api/products", params={"category": category})
            assert reply.status == 200, reply.body
            return {p["sku"] for p in reply.body["data"]}

        assert await skus(root["id"]) == {"CF-1", "CF-2"}
        assert await skus("electronics") == {"CF-1", "CF-2"}
        assert await skus("headphones") == {"CF-1"}
        assert await skus("garden") == {"CF-3"}
        assert await skus("no-such-category") == set()

    async def test_rejects_invalid_parameters(self, api: Api) -> None:
        for params in (
            {"sort": "popularity"},
            {"limit": 101},
            {"limit": 0},
            {"page": 0},
            {"page": 101, "limit": 100},
            {"min_price": -1},
            {"min_price": 500, "max_price": 100},
            {"in_stock": "maybe"},
        ):
            assert_problem(await api.get("/api/products", params=params), 422)
