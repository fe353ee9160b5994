"""The order service's routes: read a user's cart with its version, subtract an order."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from empora_cart.carts.keys import user_cart_id

DAY = 24 * 3600


async def add(api: Any, headers: dict[str, str], product_id: uuid.UUID, quantity: int = 1) -> Any:
    reply = await api.post(
        "/api/cart/items",
        json={"product_id": str(product_id), "quantity": quantity},
        headers=headers,
    )
    assert reply.status == 201, reply.body
    return reply


async def subtract(
    api: Any,
    internal: dict[str, str],
    user_id: uuid.UUID,
    order_id: uuid.UUID,
    lines: dict[uuid.UUID, int],
) -> Any:
    return await api.post(
        f"/internal/carts/users/{user_id}/subtract",
        json={
            "order_id": str(order_id),
            "lines": [{"product_id": str(p), "quantity": q} for p, q in lines.items()],
        },
        headers=internal,
    )


class TestReadUserCart:
    async def test_a_user_without_a_cart_gets_the_stable_id_and_version_0(
        self, api: Any, internal: dict[str, str], user_id: uuid.UUID
    ) -> None:
        reply = await api.get(f"/internal/carts/users/{user_id}", headers=internal)

        assert reply.status == 200
        assert reply.body["id"] == str(user_cart_id(user_id))
        assert reply.body["user_id"] == str(user_id)
        assert reply.body["version"] == 0
        assert reply.body["items"] == []

    async def test_returns_lines_and_the_version_of_the_public_cart(
        self,
        api: Any,
        internal: dict[str, str],
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
    ) -> None:
        first, second = catalog.add(), catalog.add()
        await add(api, user, first, 2)
        public = await add(api, user, second, 3)

        reply = await api.get(f"/internal/carts/users/{user_id}", headers=internal)

        assert reply.body["id"] == public.body["id"]
        assert reply.body["version"] == public.body["version"]
        assert reply.body["items"] == [
            {"product_id": str(first), "quantity": 2},
            {"product_id": str(second), "quantity": 3},
        ]

    async def test_needs_no_catalog_lookup(
        self,
        api: Any,
        internal: dict[str, str],
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
    ) -> None:
        await add(api, user, catalog.add())
        before = len(catalog.lookups)

        await api.get(f"/internal/carts/users/{user_id}", headers=internal)

        assert len(catalog.lookups) == before

    @pytest.mark.parametrize("token", [None, "wrong-token"])
    async def test_needs_the_internal_credential(
        self, api: Any, user_id: uuid.UUID, token: str | None
    ) -> None:
        headers = {"X-Internal-Token": token} if token else {}

        reply = await api.get(f"/internal/carts/users/{user_id}", headers=headers)

        assert reply.status == 401
        assert reply.headers["Content-Type"].startswith("application/problem+json")

    async def test_a_user_token_is_not_an_internal_credential(
        self, api: Any, user: dict[str, str], user_id: uuid.UUID
    ) -> None:
        reply = await api.get(f"/internal/carts/users/{user_id}", headers=user)

        assert reply.status == 401

    async def test_rejects_a_malformed_user_id(self, api: Any, internal: dict[str, str]) -> None:
        reply = await api.get("/internal/carts/users/nope", headers=internal)

        assert reply.status == 422


class TestSubtractOrder:
    async def test_removes_what_the_order_bought(
        self,
        api: Any,
        internal: dict[str, str],
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
    ) -> None:
        bought, partly = catalog.add(), catalog.add()
        await add(api, user, bought, 2)
        before = await add(api, user, partly, 5)

        reply = await subtract(api, internal, user_id, uuid.uuid4(), {bought: 2, partly: 3})

        assert reply.status == 200
        assert reply.body["items"] == [{"product_id": str(partly), "quantity": 2}]
        assert reply.body["version"] == before.body["version"] + 1

    async def test_subtracting_an_order_twice_changes_nothing(
        self,
        api: Any,
        internal: dict[str, str],
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
    ) -> None:
        pid = catalog.add()
        await add(api, user, pid, 5)
        order_id = uuid.uuid4()
        first = await subtract(api, internal, user_id, order_id, {pid: 2})

        second = await subtract(api, internal, user_id, order_id, {pid: 2})

        assert second.status == 200
        assert second.body == first.body
        assert second.body["items"] == [{"product_id": str(pid), "quantity": 3}]

    async def test_a_line_added_during_checkout_survives(
        self,
        api: Any,
        internal: dict[str, str],
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
    ) -> None:
        pid, later = catalog.add(), catalog.add()
        await add(api, user, pid, 2)
        seen = await api.get(f"/internal/carts/users/{user_id}", headers=internal)
        # While the order is being paid, the buyer adds more of the same and something new.
        await add(api, user, pid, 1)
        await add(api, user, later, 4)
        bought = {uuid.UUID(i["product_id"]): i["quantity"] for i in seen.body["items"]}

        reply = await subtract(api, internal, user_id, uuid.uuid4(), bought)

        assert reply.body["items"] == [
            {"product_id": str(pid), "quantity": 1},
            {"product_id": str(later), "quantity": 4},
        ]

    async def test_another_order_subtracts_again(
        self,
        api: Any,
        internal: dict[str, str],
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
    ) -> None:
        pid = catalog.add()
        await add(api, user, pid, 5)
        await subtract(api, internal, user_id, uuid.uuid4(), {pid: 2})

        reply = await subtract(api, internal, user_id, uuid.uuid4(), {pid: 2})

        assert reply.body["items"] == [{"product_id": str(pid), "quantity": 1}]

    async def test_refreshes_the_ttl(
        self,
        api: Any,
        internal: dict[str, str],
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
        redis: Redis,
        prefix: str,
    ) -> None:
        pid = catalog.add()
        await add(api, user, pid, 5)
        key = f"{prefix}cart:user:{user_id}"
        await redis.expire(key, 100)

        await subtract(api, internal, user_id, uuid.uuid4(), {pid: 1})

        assert await redis.ttl(key) > 30 * DAY - 60

    async def test_remembers_the_order_for_at_least_7_days(
        self,
        api: Any,
        internal: dict[str, str],
        user_id: uuid.UUID,
        redis: Redis,
        prefix: str,
    ) -> None:
        order_id = uuid.uuid4()

        await subtract(api, internal, user_id, order_id, {uuid.uuid4(): 1})

        assert await redis.ttl(f"{prefix}cart:order-subtracted:{order_id}") >= 7 * DAY

    async def test_a_user_without_a_cart_is_answered_empty(
        self, api: Any, internal: dict[str, str], user_id: uuid.UUID, redis: Redis, prefix: str
    ) -> None:
        reply = await subtract(api, internal, user_id, uuid.uuid4(), {uuid.uuid4(): 1})

        assert reply.status == 200
        assert reply.body["items"] == []
        assert reply.body["id"] == str(user_cart_id(user_id))
        assert not await redis.exists(f"{prefix}cart:user:{user_id}")

    async def test_after_an_order_a_recreated_cart_never_repeats_a_version(
        self,
        api: Any,
        internal: dict[str, str],
        user: dict[str, str],
        user_id: uuid.UUID,
        catalog: Any,
        redis: Redis,
        prefix: str,
    ) -> None:
        pid = catalog.add()
        await add(api, user, pid, 1)
        await add(api, user, pid, 1)
        seen = await api.get(f"/internal/carts/users/{user_id}", headers=internal)
        await redis.delete(f"{prefix}cart:user:{user_id}")  # the cart expired

        absent = await api.get(f"/internal/carts/users/{user_id}", headers=internal)
        recreated = await add(api, user, pid, 1)

        assert absent.body["version"] == seen.body["version"]
        assert recreated.body["version"] > seen.body["version"]
        assert recreated.body["id"] == seen.body["id"]

    @pytest.mark.parametrize(
        "body",
        [
            {"lines": []},
            {"order_id": "nope", "lines": []},
            {"order_id": str(uuid.uuid4()), "lines": [{"product_id": "x", "quantity": 1}]},
            {"order_id": str(uuid.uuid4()), "lines": [{"product_id": str(uuid.uuid4())}]},
            {
                "order_id": str(uuid.uuid4()),
                "lines": [{"product_id": str(uuid.uuid4()), "quantity": -1}],
            },
        ],
    )
    async def test_rejects_a_malformed_body(
        self, api: Any, internal: dict[str, str], user_id: uuid.UUID, body: dict[str, Any]
    ) -> None:
        reply = await api.post(
            f"/internal/carts/users/{user_id}/subtract", json=body, headers=internal
        )

        assert reply.status == 422

    async def test_needs_the_internal_credential(self, api: Any, user_id: uuid.UUID) -> None:
        reply = await api.post(
            f"/internal/carts/users/{user_id}/subtract",
            json={"order_id": str(uuid.uuid4()), "lines": []},
        )

        assert reply.status == 401
