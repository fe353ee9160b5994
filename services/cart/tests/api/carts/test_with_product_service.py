"""The cart against the real product service: a migrated database, products made through its
admin API, and the cart pricing lines with its batch lookup."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from empora_cart.app import create_app
from empora_common.testing.infra import AppServer, serve
from empora_common.testing.tokens import TestSigner
from empora_product.app import create_app as create_product_app
from empora_product.settings import ProductSettings


@pytest.fixture(scope="module")
async def product_server(base_env: dict[str, Any]) -> AsyncIterator[AppServer]:
    """The real product service on the session's migrated database (no workers: the cart
    needs only its routes)."""
    settings = ProductSettings(**{**base_env, "EMPORA_RUN_WORKERS": False})
    async with serve(create_product_app(settings)) as server:
        yield server


@pytest.fixture(scope="module")
async def cart(settings_with: Any, product_server: AppServer) -> AsyncIterator[AppServer]:
    async with serve(create_app(settings_with(PRODUCT_URL=product_server.url))) as server:
        yield server


@pytest.fixture
def products(make_api: Any, product_server: AppServer) -> Any:
    return make_api(product_server)


@pytest.fixture
def carts(make_api: Any, cart: AppServer) -> Any:
    return make_api(cart)


@pytest.fixture(scope="module")
def admin(signer: TestSigner) -> dict[str, str]:
    return signer.headers(roles=["admin"])


async def create_product(
    products: Any, admin: dict[str, str], *, price: int, stock: int
) -> dict[str, Any]:
    sku = f"CART-{uuid.uuid4().hex[:10]}"
    reply = await products.post(
        "/api/products",
        json={"sku": sku, "name": f"Cart test {sku}", "price": price, "stock": stock},
        headers=admin,
    )
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def add(carts: Any, headers: dict[str, str], product_id: str, quantity: int) -> Any:
    return await carts.post(
        "/api/cart/items", json={"product_id": product_id, "quantity": quantity}, headers=headers
    )


class TestCartWithTheProductService:
    async def test_lines_carry_the_catalog_name_sku_price_and_stock(
        self, carts: Any, products: Any, admin: dict[str, str], user: dict[str, str]
    ) -> None:
        made = await create_product(products, admin, price=1500, stock=5)

        added = await add(carts, user, made["id"], 2)

        assert added.status == 201, added.body
        line = added.body["items"][0]
        assert line["sku"] == made["sku"]
        assert line["name"] == made["name"]
        assert line["unit_price"] == {"amount": 1500, "currency": "USD"}
        assert line["available"] == 5
        assert line["purchasable"] is True
        assert added.body["subtotal"] == {"amount": 3000, "currency": "USD"}

    async def test_a_price_change_in_the_catalog_shows_in_the_cart(
        self, carts: Any, products: Any, admin: dict[str, str], user: dict[str, str]
    ) -> None:
        made = await create_product(products, admin, price=1000, stock=10)
        await add(carts, user, made["id"], 3)

        patched = await products.patch(
            f"/api/products/{made['id']}", json={"price": 1250}, headers=admin
        )
        cart = await carts.get("/api/cart", headers=user)

        assert patched.status == 200, patched.body
        assert cart.body["items"][0]["unit_price"]["amount"] == 1250
        assert cart.body["subtotal"]["amount"] == 3750

    async def test_more_than_the_stock_is_409_until_the_stock_grows(
        self, carts: Any, products: Any, admin: dict[str, str], user: dict[str, str]
    ) -> None:
        made = await create_product(products, admin, price=700, stock=2)

        refused = await add(carts, user, made["id"], 3)
        restocked = await products.put(
            f"/api/products/{made['id']}/stock", json={"quantity": 3}, headers=admin
        )
        accepted = await add(carts, user, made["id"], 3)

        assert refused.status == 409
        assert refused.body["available"] == 2
        assert restocked.status == 200, restocked.body
        assert accepted.status == 201
        assert accepted.body["items"][0]["quantity"] == 3

    async def test_an_archived_product_leaves_the_subtotal_and_cannot_be_added(
        self, carts: Any, products: Any, admin: dict[str, str], user: dict[str, str]
    ) -> None:
        kept = await create_product(products, admin, price=400, stock=5)
        archived = await create_product(products, admin, price=900, stock=5)
        await add(carts, user, kept["id"], 1)
        await add(carts, user, archived["id"], 1)

        gone = await products.delete(f"/api/products/{archived['id']}", headers=admin)
        cart = await carts.get("/api/cart", headers=user)
        again = await add(carts, user, archived["id"], 1)

        assert gone.status == 204
        flags = {i["product_id"]: i["purchasable"] for i in cart.body["items"]}
        assert flags == {kept["id"]: True, archived["id"]: False}
        assert cart.body["subtotal"]["amount"] == 400
        assert again.status == 404

    async def test_an_unknown_product_is_404(self, carts: Any, user: dict[str, str]) -> None:
        reply = await add(carts, user, str(uuid.uuid4()), 1)

        assert reply.status == 404

    async def test_a_guest_cart_merges_capped_by_real_stock(
        self,
        carts: Any,
        products: Any,
        admin: dict[str, str],
        user: dict[str, str],
        guest: dict[str, str],
    ) -> None:
        made = await create_product(products, admin, price=300, stock=4)
        await add(carts, user, made["id"], 3)
        created = await add(carts, guest, made["id"], 2)
        token = created.body["cart_token"]

        merged = await carts.post("/api/cart/merge", json={"cart_token": token}, headers=user)
        again = await carts.post("/api/cart/merge", json={"cart_token": token}, headers=user)

        assert merged.status == 200
        assert merged.body["items"][0]["quantity"] == 4
        assert again.body == merged.body
