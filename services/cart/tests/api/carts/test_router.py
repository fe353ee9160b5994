"""The public cart routes over real HTTP, against real Redis and a stand-in catalog server."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from empora_cart.app import create_app
from empora_cart.carts.keys import token_digest, user_cart_id
from empora_common.testing.infra import AppServer, serve
from empora_common.testing.tokens import TestSigner

PROBLEM = "application/problem+json"
DAY = 24 * 3600


def problem_type(reply: Any) -> str:
    assert reply.headers["Content-Type"].startswith(PROBLEM), reply.body
    return str(reply.body["type"]).rsplit("/", 1)[-1]


async def add(api: Any, headers: dict[str, str], product_id: uuid.UUID, quantity: int = 1) -> Any:
    return await api.post(
        "/api/cart/items",
        json={"product_id": str(product_id), "quantity": quantity},
        headers=headers,
    )


class TestGetCart:
    async def test_absent_user_cart_reads_empty_with_its_stable_id(
        self, api: Any, user: dict[str, str], user_id: uuid.UUID, redis: Redis, prefix: str
    ) -> None:
        reply = await api.get("/api/cart", headers=user)

        assert reply.status == 200
        assert reply.body == {
            "id": str(user_cart_id(user_id)),
            "items": [],
            "subtotal": {"amount": 0, "currency": "USD"},
            "item_count": 0,
            "version": 0,
            "updated_at": None,
        }
        assert not await redis.exists(f"{prefix}cart:user:{user_id}")

    async def test_guest_without_token_reads_empty_and_gets_no_cart(
        self, api: Any, guest: dict[str, str]
    ) -> None:
        reply = await api.get("/api/cart", headers=guest)

        assert reply.status == 200
        assert reply.body["items"] == []
        assert "cart_token" not in reply.body
        assert "X-Cart-Token" not in reply.headers

    async def test_prices_lines_from_the_catalog(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        cheap = catalog.add(price=250, available=7)
        dear = catalog.add(price=1999, available=3)
        await add(api, user, cheap, 4)
        await add(api, user, dear, 2)

        reply = await api.get("/api/cart", headers=user)

        assert reply.status == 200
        items = reply.body["items"]
        assert [i["product_id"] for i in items] == [str(cheap), str(dear)]
        first = items[0]
        assert first["sku"] == catalog.products[cheap].sku
        assert first["name"] == catalog.products[cheap].name
        assert first["unit_price"] == {"amount": 250, "currency": "USD"}
        assert first["line_total"] == {"amount": 1000, "currency": "USD"}
        assert first["available"] == 7
        assert first["purchasable"] is True
        assert reply.body["subtotal"] == {"amount": 1000 + 3998, "currency": "USD"}
        assert reply.body["item_count"] == 6
        assert "cart_token" not in reply.body

    async def test_a_view_makes_one_catalog_lookup_for_all_lines(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        ids = [catalog.add() for _ in range(5)]
        for pid in ids:
            await add(api, user, pid)
        before = len(catalog.lookups)

        reply = await api.get("/api/cart", headers=user)

        assert reply.status == 200
        assert len(catalog.lookups) == before + 1
        assert sorted(catalog.lookups[-1]) == sorted(str(i) for i in ids)

    async def test_price_change_in_the_catalog_shows_in_the_cart(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(price=1000)
        await add(api, user, pid, 2)
        catalog.products[pid].price = 1250

        reply = await api.get("/api/cart", headers=user)

        assert reply.body["items"][0]["unit_price"]["amount"] == 1250
        assert reply.body["subtotal"]["amount"] == 2500

    async def test_archived_product_is_not_purchasable_and_left_out_of_the_subtotal(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        kept = catalog.add(price=500)
        archived = catalog.add(price=900)
        await add(api, user, kept)
        await add(api, user, archived, 2)
        catalog.products[archived].is_active = False

        reply = await api.get("/api/cart", headers=user)

        lines = {i["product_id"]: i for i in reply.body["items"]}
        assert lines[str(archived)]["purchasable"] is False
        assert lines[str(kept)]["purchasable"] is True
        assert reply.body["subtotal"]["amount"] == 500
        assert reply.body["item_count"] == 3

    async def test_with_a_bearer_token_the_cart_token_is_ignored(
        self, api: Any, guest: dict[str, str], user: dict[str, str], catalog: Any
    ) -> None:
        created = await add(api, guest, catalog.add())
        token = created.body["cart_token"]

        reply = await api.get("/api/cart", headers={**user, "X-Cart-Token": token})

        assert reply.status == 200
        assert reply.body["items"] == []
        assert reply.body["id"] != created.body["id"]

    async def test_invalid_bearer_token_is_401_problem(self, api: Any) -> None:
        reply = await api.get("/api/cart", headers={"Authorization": "Bearer not-a-jwt"})

        assert reply.status == 401
        assert problem_type(reply) == "invalid-token"
        assert reply.body["request_id"] == reply.headers["X-Request-ID"]

    async def test_expired_bearer_token_is_401(self, api: Any, signer: TestSigner) -> None:
        reply = await api.get("/api/cart", headers=signer.headers(ttl=-60))

        assert reply.status == 401


class TestAddItem:
    async def test_creates_the_user_cart_with_201(
        self, api: Any, user: dict[str, str], user_id: uuid.UUID, catalog: Any
    ) -> None:
        pid = catalog.add(price=1500)

        reply = await add(api, user, pid, 2)

        assert reply.status == 201
        assert reply.body["id"] == str(user_cart_id(user_id))
        assert reply.body["items"][0]["quantity"] == 2
        assert reply.body["subtotal"]["amount"] == 3000
        assert reply.body["version"] == 1
        assert reply.body["updated_at"] is not None

    async def test_adds_to_an_existing_line_and_bumps_the_version(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add()
        first = await add(api, user, pid, 2)

        second = await add(api, user, pid, 3)

        assert second.status == 201
        assert len(second.body["items"]) == 1
        assert second.body["items"][0]["quantity"] == 5
        assert second.body["version"] == first.body["version"] + 1

    async def test_defaults_to_one_unit(self, api: Any, user: dict[str, str], catalog: Any) -> None:
        reply = await api.post(
            "/api/cart/items", json={"product_id": str(catalog.add())}, headers=user
        )

        assert reply.status == 201
        assert reply.body["item_count"] == 1

    async def test_one_catalog_lookup_per_add(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        await add(api, user, catalog.add())
        before = len(catalog.lookups)

        await add(api, user, catalog.add())

        assert len(catalog.lookups) == before + 1

    async def test_unknown_product_is_404(self, api: Any, user: dict[str, str]) -> None:
        reply = await add(api, user, uuid.uuid4())

        assert reply.status == 404
        assert problem_type(reply) == "product-not-found"

    async def test_inactive_product_is_404(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        reply = await add(api, user, catalog.add(active=False))

        assert reply.status == 404
        assert problem_type(reply) == "product-not-found"

    async def test_rejects_quantity_above_stock_with_available(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=3)

        reply = await add(api, user, pid, 4)

        assert reply.status == 409
        assert problem_type(reply) == "out-of-stock"
        assert reply.body["available"] == 3
        assert (await api.get("/api/cart", headers=user)).body["items"] == []

    async def test_rejects_adding_to_a_line_beyond_stock(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=5)
        await add(api, user, pid, 4)

        reply = await add(api, user, pid, 2)

        assert reply.status == 409
        assert reply.body["available"] == 5
        assert reply.body["short_lines"] == [
            {"product_id": str(pid), "requested": 6, "available": 5}
        ]
        cart = await api.get("/api/cart", headers=user)
        assert cart.body["items"][0]["quantity"] == 4

    @pytest.mark.parametrize("quantity", [0, -1, 100, "3", 2.5, True, None])
    async def test_rejects_quantity_outside_1_to_99(
        self, api: Any, user: dict[str, str], catalog: Any, quantity: Any
    ) -> None:
        reply = await api.post(
            "/api/cart/items",
            json={"product_id": str(catalog.add(available=500)), "quantity": quantity},
            headers=user,
        )

        assert reply.status == 422
        assert problem_type(reply) == "validation-error"
        assert reply.body["errors"][0]["field"] == "quantity"

    async def test_rejects_a_line_growing_beyond_99(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=500)
        await add(api, user, pid, 60)

        reply = await add(api, user, pid, 40)

        assert reply.status == 422
        assert reply.body["errors"][0]["field"] == "quantity"
        assert (await api.get("/api/cart", headers=user)).body["items"][0]["quantity"] == 60

    async def test_rejects_the_101st_line(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        for _ in range(100):
            assert (await add(api, user, catalog.add())).status == 201

        reply = await add(api, user, catalog.add())

        assert reply.status == 422
        assert reply.body["errors"][0]["field"] == "product_id"
        cart = await api.get("/api/cart", headers=user)
        assert len(cart.body["items"]) == 100

    async def test_rejects_a_malformed_product_id(self, api: Any, user: dict[str, str]) -> None:
        reply = await api.post(
            "/api/cart/items", json={"product_id": "nope", "quantity": 1}, headers=user
        )

        assert reply.status == 422
        assert reply.body["errors"][0]["field"] == "product_id"

    async def test_malformed_json_is_400(self, api: Any, user: dict[str, str]) -> None:
        reply = await api.post(
            "/api/cart/items",
            data=b'{"product_id": ',
            headers={**user, "Content-Type": "application/json"},
        )

        assert reply.status == 400
        assert problem_type(reply) == "malformed-json"

    async def test_fifty_concurrent_adds_end_with_the_exact_sum(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=1000)
        await add(api, user, pid, 1)

        replies = await asyncio.gather(*(add(api, user, pid, 1) for _ in range(50)))

        assert [r.status for r in replies] == [201] * 50
        cart = await api.get("/api/cart", headers=user)
        assert cart.body["items"][0]["quantity"] == 51
        assert cart.body["version"] == 51
        assert len({r.body["version"] for r in replies}) == 50

    async def test_sets_the_user_ttl_of_30_days(
        self,
        api: Any,
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
        redis: Redis,
        prefix: str,
    ) -> None:
        await add(api, user, catalog.add())

        ttl = await redis.ttl(f"{prefix}cart:user:{user_id}")

        assert 30 * DAY - 60 <= ttl <= 30 * DAY

    async def test_a_write_refreshes_the_ttl(
        self,
        api: Any,
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
        redis: Redis,
        prefix: str,
    ) -> None:
        key = f"{prefix}cart:user:{user_id}"
        await add(api, user, catalog.add())
        await redis.expire(key, 100)

        await add(api, user, catalog.add())

        assert await redis.ttl(key) > 30 * DAY - 60


class TestGuestCart:
    async def test_first_add_returns_a_128_bit_token_in_body_and_header(
        self, api: Any, guest: dict[str, str], catalog: Any
    ) -> None:
        reply = await add(api, guest, catalog.add())

        assert reply.status == 201
        token = reply.body["cart_token"]
        assert reply.headers["X-Cart-Token"] == token
        assert len(token) >= 22  # base64url: 22 characters carry 128 bits
        assert reply.headers["Cache-Control"] == "no-store"

    async def test_token_is_stored_hashed(
        self, api: Any, guest: dict[str, str], catalog: Any, redis: Redis, prefix: str
    ) -> None:
        token = (await add(api, guest, catalog.add())).body["cart_token"]

        keys = [k async for k in redis.scan_iter(match=f"{prefix}cart:*")]

        assert f"{prefix}cart:guest:{token_digest(token)}" in keys
        assert not any(token in key for key in keys)
        for key in keys:
            if await redis.type(key) == "hash":
                assert token not in (await redis.hgetall(key)).values()

    async def test_guest_adds_to_the_cart_the_token_names(
        self, api: Any, guest: dict[str, str], catalog: Any
    ) -> None:
        first = await add(api, guest, catalog.add())
        token = first.body["cart_token"]

        second = await add(api, {**guest, "X-Cart-Token": token}, catalog.add())
        read = await api.get("/api/cart", headers={"X-Cart-Token": token})

        assert second.status == 201
        assert second.body["id"] == first.body["id"]
        assert second.body["cart_token"] == token
        assert read.body["item_count"] == 2
        assert read.body["cart_token"] == token

    async def test_sets_the_guest_ttl_of_7_days(
        self, api: Any, guest: dict[str, str], catalog: Any, redis: Redis, prefix: str
    ) -> None:
        token = (await add(api, guest, catalog.add())).body["cart_token"]

        ttl = await redis.ttl(f"{prefix}cart:guest:{token_digest(token)}")

        assert 7 * DAY - 60 <= ttl <= 7 * DAY

    async def test_unknown_token_reads_as_an_empty_cart(self, api: Any) -> None:
        reply = await api.get("/api/cart", headers={"X-Cart-Token": "x" * 43})

        assert reply.status == 200
        assert reply.body["items"] == []
        assert "cart_token" not in reply.body

    async def test_a_write_with_an_unknown_token_starts_a_new_cart_with_a_new_token(
        self, api: Any, guest: dict[str, str], catalog: Any
    ) -> None:
        made_up = "y" * 43

        reply = await add(api, {**guest, "X-Cart-Token": made_up}, catalog.add())

        assert reply.status == 201
        assert reply.body["cart_token"] != made_up
        assert (await api.get("/api/cart", headers={"X-Cart-Token": made_up})).body["items"] == []

    async def test_new_guest_carts_are_capped_per_client_address(
        self, api: Any, guest: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=1000)
        for _ in range(50):
            assert (await add(api, guest, pid)).status == 201

        reply = await add(api, guest, pid)

        assert reply.status == 429
        assert problem_type(reply) == "rate-limited"
        assert 0 < int(reply.headers["Retry-After"]) <= 3600

    async def test_the_cap_counts_only_new_carts(
        self, api: Any, guest: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=1000)
        token = (await add(api, guest, pid)).body["cart_token"]
        for _ in range(55):
            reply = await add(api, {**guest, "X-Cart-Token": token}, pid)
        assert reply.status == 201

    async def test_a_cap_is_per_address(
        self, api: Any, guest: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=1000)
        for _ in range(50):
            await add(api, guest, pid)

        other = await add(api, {"X-Forwarded-For": "192.0.2.77"}, pid)

        assert other.status == 201

    async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
        self, settings_with: Any, prefix: str, catalog: Any, make_api: Any
    ) -> None:
        settings = settings_with(
            TRUSTED_PROXIES="192.0.2.1",
            CART_GUEST_CREATE_LIMIT=2,
            REDIS_PREFIX=prefix + "untrusted.",
        )
        pid = catalog.add(available=1000)
        # uvicorn's own X-Forwarded-For handling (on by default for 127.0.0.1) is turned off,
        # as the cart's Dockerfile does: the cart alone decides whom to trust.
        server = AppServer(create_app(settings))
        server.server.config.proxy_headers = False
        await server.start()
        try:
            api = make_api(server)
            statuses = [
                (await add(api, {"X-Forwarded-For": f"198.51.100.{n}"}, pid)).status
                for n in range(3)
            ]
        finally:
            await server.stop()

        assert statuses == [201, 201, 429]


class TestSetQuantity:
    async def test_sets_the_quantity(self, api: Any, user: dict[str, str], catalog: Any) -> None:
        pid = catalog.add()
        await add(api, user, pid, 5)

        reply = await api.patch(f"/api/cart/items/{pid}", json={"quantity": 2}, headers=user)

        assert reply.status == 200
        assert reply.body["items"][0]["quantity"] == 2

    async def test_zero_removes_the_line(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add()
        await add(api, user, pid, 5)

        reply = await api.patch(f"/api/cart/items/{pid}", json={"quantity": 0}, headers=user)

        assert reply.status == 200
        assert reply.body["items"] == []

    async def test_a_line_not_in_the_cart_is_404(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        await add(api, user, catalog.add())

        reply = await api.patch(
            f"/api/cart/items/{catalog.add()}", json={"quantity": 2}, headers=user
        )

        assert reply.status == 404
        assert problem_type(reply) == "cart-item-not-found"

    @pytest.mark.parametrize("quantity", [-5, 100, "2", None])
    async def test_a_line_not_in_the_cart_is_404_before_the_body_is_judged(
        self, api: Any, user: dict[str, str], catalog: Any, quantity: Any
    ) -> None:
        await add(api, user, catalog.add())

        reply = await api.patch(
            f"/api/cart/items/{catalog.add()}", json={"quantity": quantity}, headers=user
        )

        assert reply.status == 404
        assert problem_type(reply) == "cart-item-not-found"

    async def test_guest_without_a_cart_gets_404(self, api: Any, guest: dict[str, str]) -> None:
        reply = await api.patch(
            f"/api/cart/items/{uuid.uuid4()}", json={"quantity": 2}, headers=guest
        )

        assert reply.status == 404

    async def test_rejects_raising_beyond_stock(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=4)
        await add(api, user, pid, 2)

        reply = await api.patch(f"/api/cart/items/{pid}", json={"quantity": 5}, headers=user)

        assert reply.status == 409
        assert reply.body["available"] == 4

    async def test_lowering_works_even_when_stock_fell_below_the_line(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add(available=10)
        await add(api, user, pid, 8)
        catalog.products[pid].available = 2

        reply = await api.patch(f"/api/cart/items/{pid}", json={"quantity": 5}, headers=user)

        assert reply.status == 200
        assert reply.body["items"][0]["quantity"] == 5
        assert reply.body["items"][0]["available"] == 2

    async def test_raising_an_archived_product_is_404(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add()
        await add(api, user, pid, 1)
        catalog.products[pid].is_active = False

        reply = await api.patch(f"/api/cart/items/{pid}", json={"quantity": 2}, headers=user)

        assert reply.status == 404
        assert problem_type(reply) == "product-not-found"

    @pytest.mark.parametrize("quantity", [-1, 100, "2"])
    async def test_rejects_quantity_outside_0_to_99(
        self, api: Any, user: dict[str, str], catalog: Any, quantity: Any
    ) -> None:
        pid = catalog.add()
        await add(api, user, pid)

        reply = await api.patch(f"/api/cart/items/{pid}", json={"quantity": quantity}, headers=user)

        assert reply.status == 422

    async def test_rejects_a_malformed_product_id_in_the_path(
        self, api: Any, user: dict[str, str]
    ) -> None:
        reply = await api.patch("/api/cart/items/nope", json={"quantity": 1}, headers=user)

        assert reply.status == 422
        assert reply.body["errors"][0]["field"] == "product_id"


class TestRemoveItem:
    async def test_removes_the_line(self, api: Any, user: dict[str, str], catalog: Any) -> None:
        kept, removed = catalog.add(), catalog.add()
        await add(api, user, kept)
        before = await add(api, user, removed)

        reply = await api.delete(f"/api/cart/items/{removed}", headers=user)

        assert reply.status == 200
        assert [i["product_id"] for i in reply.body["items"]] == [str(kept)]
        assert reply.body["version"] == before.body["version"] + 1

    async def test_removing_an_absent_line_changes_nothing(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        before = await add(api, user, catalog.add())

        reply = await api.delete(f"/api/cart/items/{uuid.uuid4()}", headers=user)

        assert reply.status == 200
        assert reply.body["version"] == before.body["version"]
        assert reply.body["item_count"] == 1


class TestClearCart:
    async def test_empties_the_cart_and_bumps_the_version(
        self, api: Any, user: dict[str, str], user_id: uuid.UUID, catalog: Any
    ) -> None:
        await add(api, user, catalog.add())
        before = await add(api, user, catalog.add())

        reply = await api.delete("/api/cart", headers=user)

        assert reply.status == 200
        assert reply.body["items"] == []
        assert reply.body["item_count"] == 0
        assert reply.body["id"] == str(user_cart_id(user_id))
        assert reply.body["version"] == before.body["version"] + 1
        assert (await api.get("/api/cart", headers=user)).body["items"] == []

    async def test_versions_keep_counting_after_a_clear(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        await add(api, user, catalog.add())
        cleared = await api.delete("/api/cart", headers=user)

        reply = await add(api, user, catalog.add())

        assert reply.body["version"] == cleared.body["version"] + 1

    async def test_guest_clears_their_cart(
        self, api: Any, guest: dict[str, str], catalog: Any
    ) -> None:
        token = (await add(api, guest, catalog.add())).body["cart_token"]

        reply = await api.delete("/api/cart", headers={"X-Cart-Token": token})

        assert reply.status == 200
        assert reply.body["items"] == []
        assert reply.body["cart_token"] == token

    async def test_clearing_without_a_cart_is_200_and_creates_nothing(
        self, api: Any, guest: dict[str, str]
    ) -> None:
        reply = await api.delete("/api/cart", headers=guest)

        assert reply.status == 200
        assert reply.body["items"] == []
        assert "X-Cart-Token" not in reply.headers


class TestMerge:
    async def guest_cart(self, api: Any, guest: dict[str, str], lines: dict[uuid.UUID, int]) -> str:
        token: str | None = None
        for pid, quantity in lines.items():
            headers = {**guest, "X-Cart-Token": token} if token else guest
            reply = await add(api, headers, pid, quantity)
            assert reply.status == 201, reply.body
            token = reply.body["cart_token"]
        assert token is not None
        return token

    async def test_quantities_add_and_the_guest_cart_is_gone(
        self,
        api: Any,
        guest: dict[str, str],
        user: dict[str, str],
        catalog: Any,
        redis: Redis,
        prefix: str,
    ) -> None:
        shared, guest_only, user_only = catalog.add(), catalog.add(), catalog.add()
        await add(api, user, shared, 2)
        await add(api, user, user_only, 1)
        token = await self.guest_cart(api, guest, {shared: 3, guest_only: 4})

        reply = await api.post("/api/cart/merge", json={"cart_token": token}, headers=user)

        assert reply.status == 200
        quantities = {i["product_id"]: i["quantity"] for i in reply.body["items"]}
        assert quantities == {str(shared): 5, str(user_only): 1, str(guest_only): 4}
        assert "cart_token" not in reply.body
        assert not await redis.exists(f"{prefix}cart:guest:{token_digest(token)}")
        assert (await api.get("/api/cart", headers={"X-Cart-Token": token})).body["items"] == []

    async def test_quantities_are_capped_by_stock_and_the_line_limit(
        self, api: Any, guest: dict[str, str], user: dict[str, str], catalog: Any
    ) -> None:
        scarce = catalog.add(available=6)
        plenty = catalog.add(available=500)
        await add(api, user, scarce, 4)
        await add(api, user, plenty, 70)
        token = await self.guest_cart(api, guest, {scarce: 5, plenty: 50})

        reply = await api.post("/api/cart/merge", json={"cart_token": token}, headers=user)

        quantities = {i["product_id"]: i["quantity"] for i in reply.body["items"]}
        assert quantities == {str(scarce): 6, str(plenty): 99}

    async def test_merging_twice_is_harmless(
        self, api: Any, guest: dict[str, str], user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add()
        token = await self.guest_cart(api, guest, {pid: 2})
        first = await api.post("/api/cart/merge", json={"cart_token": token}, headers=user)

        second = await api.post("/api/cart/merge", json={"cart_token": token}, headers=user)

        assert second.status == 200
        assert second.body == first.body

    async def test_an_unknown_token_changes_nothing(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        before = await add(api, user, catalog.add())

        reply = await api.post("/api/cart/merge", json={"cart_token": "z" * 43}, headers=user)

        assert reply.status == 200
        assert reply.body["version"] == before.body["version"]
        assert reply.body["items"] == before.body["items"]

    async def test_the_token_may_come_in_the_header(
        self, api: Any, guest: dict[str, str], user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add()
        token = await self.guest_cart(api, guest, {pid: 2})

        reply = await api.post("/api/cart/merge", headers={**user, "X-Cart-Token": token})

        assert reply.status == 200
        assert reply.body["items"][0]["quantity"] == 2

    async def test_archived_guest_lines_are_left_behind(
        self, api: Any, guest: dict[str, str], user: dict[str, str], catalog: Any
    ) -> None:
        kept, archived = catalog.add(), catalog.add()
        token = await self.guest_cart(api, guest, {kept: 1, archived: 1})
        catalog.products[archived].is_active = False

        reply = await api.post("/api/cart/merge", json={"cart_token": token}, headers=user)

        assert [i["product_id"] for i in reply.body["items"]] == [str(kept)]

    async def test_needs_a_signed_in_user(
        self, api: Any, guest: dict[str, str], catalog: Any
    ) -> None:
        token = await self.guest_cart(api, guest, {catalog.add(): 1})

        reply = await api.post("/api/cart/merge", json={"cart_token": token})

        assert reply.status == 401
        assert problem_type(reply) == "unauthorized"

    async def test_needs_a_token(self, api: Any, user: dict[str, str]) -> None:
        reply = await api.post("/api/cart/merge", json={}, headers=user)

        assert reply.status == 422
        assert reply.body["errors"][0]["field"] == "cart_token"


class TestCatalogOutage:
    async def test_an_unreachable_catalog_is_503_problem(
        self, settings_with: Any, make_api: Any, signer: TestSigner
    ) -> None:
        settings = settings_with(PRODUCT_URL="http://127.0.0.1:9")
        async with serve(create_app(settings)) as server:
            reply = await add(make_api(server), signer.headers(), uuid.uuid4())

        assert reply.status == 503
        assert problem_type(reply) == "service-unavailable"
        assert "127.0.0.1" not in reply.body["detail"]

    async def test_a_failing_catalog_is_503_problem(
        self, api: Any, user: dict[str, str], catalog: Any
    ) -> None:
        pid = catalog.add()
        await add(api, user, pid)
        catalog.failing = True
        try:
            reply = await api.get("/api/cart", headers=user)
        finally:
            catalog.failing = False

        assert reply.status == 503
        assert problem_type(reply) == "service-unavailable"
