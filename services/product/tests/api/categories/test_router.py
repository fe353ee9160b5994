"""``/api/categories``: the tree, breadcrumbs, moves, cycles and deletes."""

from __future__ import annotations

import uuid

from product_api import Api, assert_problem


class TestCreateCategory:
    async def test_creates_under_a_parent_with_a_generated_slug(self, api: Api) -> None:
        root = await api.create_category("Home & Kitchen")
        child = await api.create_category("Coffee & Tea", root["id"])
        assert root["slug"] == "home-kitchen"
        assert child["parent_id"] == root["id"]
        assert child["ancestors"] == [
            {"id": root["id"], "name": "Home & Kitchen", "slug": "home-kitchen"}
        ]
        assert child["children"] == []

    async def test_rejects_a_duplicate_slug(self, api: Api) -> None:
        await api.create_category("Audio", slug="audio")
        reply = await api.post(
            "/api/categories", json={"name": "Sound", "slug": "audio"}, headers=api.admin
        )
        assert_problem(reply, 409, "slug-taken")

    async def test_rejects_an_unknown_parent(self, api: Api) -> None:
        reply = await api.post(
            "/api/categories",
            json={"name": "Orphan", "parent_id": str(uuid.uuid4())},
            headers=api.admin,
        )
        assert_problem(reply, 422)
        assert reply.body["errors"][0]["field"] == "parent_id"

    async def test_requires_admin(self, api: Api) -> None:
        assert_problem(await api.post("/api/categories", json={"name": "X"}), 401)
        assert_problem(
            await api.post("/api/categories", json={"name": "X"}, headers=api.customer), 403
        )

    async def test_rejects_an_empty_name(self, api: Api) -> None:
        reply = await api.post("/api/categories", json={"name": " "}, headers=api.admin)
        assert_problem(reply, 422)


class TestCategoryTree:
    async def test_lists_the_whole_tree_nested(self, api: Api) -> None:
        electronics = await api.create_category("Electronics")
        audio = await api.create_category("Audio", electronics["id"])
        await api.create_category("Headphones", audio["id"])
        await api.create_category("Books")
        reply = await api.get("/api/categories")
        assert reply.status == 200
        assert [c["slug"] for c in reply.body] == ["books", "electronics"]
        node = reply.body[1]
        assert node["parent_id"] is None
        assert node["children"][0]["slug"] == "audio"
        assert node["children"][0]["children"][0]["slug"] == "headphones"
        assert node["children"][0]["children"][0]["children"] == []

    async def test_detail_has_ancestors_root_first_and_the_subtree(self, api: Api) -> None:
        a = await api.create_category("A")
        b = await api.create_category("B", a["id"])
        c = await api.create_category("C", b["id"])
        await api.create_category("D", c["id"])
        reply = await api.get("/api/categories/c")
        assert [x["slug"] for x in reply.body["ancestors"]] == ["a", "b"]
        assert [x["slug"] for x in reply.body["children"]] == ["d"]
        by_id = await api.get(f"/api/categories/{c['id']}")
        assert by_id.body == reply.body

    async def test_unknown_category_is_404(self, api: Api) -> None:
        assert_problem(await api.get("/api/categories/nope"), 404, "category-not-found")
        assert_problem(await api.get(f"/api/categories/{uuid.uuid4()}"), 404)

    async def test_a_deep_tree_keeps_its_breadcrumb(self, api: Api) -> None:
        parent = None
        ids = []
        for depth in range(15):
            node = await api.create_category(f"Level {depth}", parent)
            ids.append(node["id"])
            parent = node["id"]
        leaf = await api.get(f"/api/categories/{ids[-1]}")
        assert [a["id"] for a in leaf.body["ancestors"]] == ids[:-1]
        assert leaf.body["depth"] == 14
        await api.create_product("DEEP-1", category_id=ids[-1])
        top = await api.get("/api/products", params={"category": ids[0]})
        assert [p["sku"] for p in top.body["data"]] == ["DEEP-1"]


class TestMoveCategory:
    async def test_moving_a_subtree_moves_its_descendants(self, api: Api) -> None:
        a = await api.create_category("A")
        b = await api.create_category("B")
        sub = await api.create_category("Sub", a["id"])
        leaf = await api.create_category("Leaf", sub["id"])
        await api.create_product("MV-1", category_id=leaf["id"])
        reply = await api.patch(
            f"/api/categories/{sub['id']}", json={"parent_id": b["id"]}, headers=api.admin
        )
        assert reply.status == 200, reply.body
        assert [x["slug"] for x in reply.body["ancestors"]] == ["b"]
        moved_leaf = await api.get(f"/api/categories/{leaf['id']}")
        assert [x["slug"] for x in moved_leaf.body["ancestors"]] == ["b", "sub"]
        assert moved_leaf.body["depth"] == 2
        in_b = await api.get("/api/products", params={"category": "b"})
        assert [p["sku"] for p in in_b.body["data"]] == ["MV-1"]
        assert (await api.get("/api/products", params={"category": "a"})).body["data"] == []

    async def test_moving_to_the_top_level(self, api: Api) -> None:
        a = await api.create_category("A")
        sub = await api.create_category("Sub", a["id"])
        reply = await api.patch(
            f"/api/categories/{sub['id']}", json={"parent_id": None}, headers=api.admin
        )
        assert reply.body["parent_id"] is None
        assert reply.body["ancestors"] == []

    async def test_moving_under_itself_is_a_cycle(self, api: Api) -> None:
        a = await api.create_category("A")
        reply = await api.patch(
            f"/api/categories/{a['id']}", json={"parent_id": a["id"]}, headers=api.admin
        )
        assert_problem(reply, 409, "category-cycle")

    async def test_moving_under_a_descendant_is_a_cycle(self, api: Api) -> None:
        a = await api.create_category("A")
        b = await api.create_category("B", a["id"])
        c = await api.create_category("C", b["id"])
        reply = await api.patch(
            f"/api/categories/{a['id']}", json={"parent_id": c["id"]}, headers=api.admin
        )
        assert_problem(reply, 409, "category-cycle")
        unchanged = await api.get(f"/api/categories/{c['id']}")
        assert [x["slug"] for x in unchanged.body["ancestors"]] == ["a", "b"]

    async def test_renames_and_changes_the_slug(self, api: Api) -> None:
        a = await api.create_category("Old")
        reply = await api.patch(
            f"/api/categories/{a['id']}", json={"name": "New", "slug": "new"}, headers=api.admin
        )
        assert (reply.body["name"], reply.body["slug"]) == ("New", "new")

    async def test_rejects_a_taken_slug(self, api: Api) -> None:
        await api.create_category("One")
        two = await api.create_category("Two")
        reply = await api.patch(
            f"/api/categories/{two['id']}", json={"slug": "one"}, headers=api.admin
        )
        assert_problem(reply, 409, "slug-taken")

    async def test_unknown_category_is_404_before_validation(self, api: Api) -> None:
        reply = await api.patch(
            f"/api/categories/{uuid.uuid4()}", json={"name": ""}, headers=api.admin
        )
        assert_problem(reply, 404)


class TestDeleteCategory:
    async def test_deletes_an_empty_category(self, api: Api) -> None:
        a = await api.create_category("A")
        assert (await api.delete(f"/api/categories/{a['id']}", headers=api.admin)).status == 204
        assert_problem(await api.get(f"/api/categories/{a['id']}"), 404)

    async def test_refuses_a_category_with_children(self, api: Api) -> None:
        a = await api.create_category("A")
        await api.create_category("B", a["id"])
        reply = await api.delete(f"/api/categories/{a['id']}", headers=api.admin)
        assert_problem(reply, 409, "category-not-empty")

    async def test_refuses_a_category_with_products_even_archived(self, api: Api) -> None:
        a = await api.create_category("A")
        product = await api.create_product("CAT-1", category_id=a["id"])
        await api.delete(f"/api/products/{product['id']}", headers=api.admin)
        reply = await api.delete(f"/api/categories/{a['id']}", headers=api.admin)
        assert_problem(reply, 409, "category-not-empty")

    async def test_requires_admin_before_404(self, api: Api) -> None:
        assert_problem(await api.delete(f"/api/categories/{uuid.uuid4()}"), 401)
        assert_problem(
            await api.delete(f"/api/categories/{uuid.uuid4()}", headers=api.customer), 403
        )
