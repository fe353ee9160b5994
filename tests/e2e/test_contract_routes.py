"""The rest of API.md's route tables through the gateway: admin users, catalog management,
cart edits, order listing, sessions — each with its contract errors."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.e2e.conftest import Platform
from tests.e2e.test_journeys import (
    ADDRESS,
    PASSWORD,
    add_to_cart,
    admin_token,
    call,
    checkout,
    new_product,
    verified_user,
)

pytestmark = pytest.mark.slow


class TestSessions:
    async def test_logout_change_password_and_resend(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        user = await verified_user(http, platform)
        status, _, _ = await call(
            http, "POST", f"{gw}/api/auth/resend-verification", token=user["access_token"]
        )
        assert status == 202
        status, _, _ = await call(http, "POST", f"{gw}/api/auth/resend-verification")
        assert status == 401

        _, _, second = await call(
            http,
            "POST",
            f"{gw}/api/auth/login",
            json={"email": user["email"], "password": PASSWORD},
        )
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/logout",
            token=user["access_token"],
            json={"refresh_token": user["refresh_token"]},
        )
        assert status == 204
        status, _, _ = await call(
            http, "POST", f"{gw}/api/auth/refresh", json={"refresh_token": user["refresh_token"]}
        )
        assert status == 401  # that family is revoked

        status, _, body = await call(
            http,
            "POST",
            f"{gw}/api/auth/change-password",
            token=second["access_token"],
            json={"current_password": PASSWORD, "new_password": "short"},
        )
        assert status == 422 and body["errors"]
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/change-password",
            token=second["access_token"],
            json={"current_password": PASSWORD, "new_password": "password123"},
        )
        assert status == 422  # a common password
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/change-password",
            token=second["access_token"],
            json={"current_password": PASSWORD, "new_password": "a different long phrase"},
        )
        assert status == 204
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/login",
            json={"email": user["email"], "password": "a different long phrase"},
        )
        assert status == 200

    async def test_register_conflicts_and_validation(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
        status, _, _ = await call(
            http, "POST", f"{gw}/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert status == 201
        status, _, body = await call(
            http,
            "POST",
            f"{gw}/api/auth/register",
            json={"email": email.upper(), "password": PASSWORD},
        )
        assert status == 409 and body["status"] == 409
        status, _, body = await call(
            http,
            "POST",
            f"{gw}/api/auth/register",
            json={"email": "not-an-email", "password": PASSWORD},
        )
        assert status == 422 and any(e["field"] == "email" for e in body["errors"])
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/register",
            json={"email": f"x{email}", "password": "x" * 129},
        )
        assert status == 422
        status, _, _ = await call(
            http, "POST", f"{gw}/api/auth/verify-email", json={"token": "not-a-real-token"}
        )
        assert status == 400
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/forgot-password",
            json={"email": f"nobody-{uuid.uuid4().hex}@example.com"},
        )
        assert status == 202
        status, _, jwks = await call(http, "GET", f"{gw}/api/auth/.well-known/jwks.json")
        assert status == 200 and jwks["keys"] and all("kid" in k for k in jwks["keys"])


class TestAdminUsers:
    async def test_list_search_change_roles_deactivate_delete(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        admin = await admin_token(http, platform)
        user = await verified_user(http, platform)
        status, _, _ = await call(http, "GET", f"{gw}/api/users", token=user["access_token"])
        assert status == 403
        status, _, _ = await call(http, "GET", f"{gw}/api/users")
        assert status == 401
        status, _, page = await call(
            http, "GET", f"{gw}/api/users?q={user['email']}&limit=5", token=admin
        )
        assert status == 200 and page["meta"]["total"] == 1
        assert page["data"][0]["id"] == user["id"]
        assert set(page["meta"]) == {"page", "limit", "total", "total_pages"}

        status, _, changed = await call(
            http,
            "PATCH",
            f"{gw}/api/users/{user['id']}",
            token=admin,
            json={"roles": ["customer", "admin"]},
        )
        assert status == 200 and "admin" in changed["roles"]
        status, _, changed = await call(
            http, "PATCH", f"{gw}/api/users/{user['id']}", token=admin, json={"is_active": False}
        )
        assert status == 200 and changed["is_active"] is False
        status, _, _ = await call(http, "GET", f"{gw}/api/auth/me", token=user["access_token"])
        assert status == 401  # deactivation voids its tokens at once
        status, _, _ = await call(
            http, "POST", f"{gw}/api/auth/refresh", json={"refresh_token": user["refresh_token"]}
        )
        assert status == 401
        status, _, _ = await call(http, "DELETE", f"{gw}/api/users/{user['id']}", token=admin)
        assert status in (200, 204)
        status, _, _ = await call(http, "GET", f"{gw}/api/users/{user['id']}", token=admin)
        assert status == 404
        status, _, _ = await call(http, "GET", f"{gw}/api/users/{uuid.uuid4()}", token=admin)
        assert status == 404


class TestCatalogManagement:
    async def test_categories_tree_products_and_stock_errors(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        admin = await admin_token(http, platform)
        tag = uuid.uuid4().hex[:6]
        status, _, root = await call(
            http, "POST", f"{gw}/api/categories", token=admin, json={"name": f"Garden {tag}"}
        )
        assert status == 201 and root["parent_id"] is None and root["slug"]
        status, _, child = await call(
            http,
            "POST",
            f"{gw}/api/categories",
            token=admin,
            json={"name": f"Tools {tag}", "parent_id": root["id"]},
        )
        assert status == 201
        status, _, _ = await call(
            http,
            "PATCH",
            f"{gw}/api/categories/{root['id']}",
            token=admin,
            json={"parent_id": child["id"]},
        )
        assert status == 409  # a cycle
        status, _, detail = await call(http, "GET", f"{gw}/api/categories/{child['slug']}")
        assert status == 200 and [a["id"] for a in detail["ancestors"]] == [root["id"]]
        status, _, tree = await call(http, "GET", f"{gw}/api/categories")
        assert status == 200
        mine = next(c for c in tree if c["id"] == root["id"])
        assert [c["id"] for c in mine["children"]] == [child["id"]]

        sku = f"RAKE-{tag}"
        status, _, rake = await call(
            http,
            "POST",
            f"{gw}/api/products",
            token=admin,
            json={
                "sku": sku,
                "name": f"Steel Rake {tag}",
                "description": "A sturdy rake",
                "price": {"amount": 3999, "currency": "USD"},
                "category_id": child["id"],
                "attributes": {"material": "steel"},
                "images": ["https://example.com/r.jpg"],
            },
        )
        assert (
            status == 201 and rake["slug"] and rake["stock"] == {"available": 0, "in_stock": False}
        )
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/products",
            token=admin,
            json={"sku": sku, "name": "Another", "price": {"amount": 1, "currency": "USD"}},
        )
        assert status == 409  # SKU taken
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/products",
            token=admin,
            json={"sku": f"NEG-{tag}", "name": "Bad", "price": {"amount": -5, "currency": "USD"}},
        )
        assert status == 422
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/products",
            json={"sku": f"ANON-{tag}", "name": "x", "price": {"amount": 1, "currency": "USD"}},
        )
        assert status == 401
        status, _, _ = await call(http, "DELETE", f"{gw}/api/categories/{child['id']}", token=admin)
        assert status == 409  # it holds a product

        status, _, level = await call(
            http, "PUT", f"{gw}/api/products/{rake['id']}/stock", token=admin, json={"quantity": 4}
        )
        assert status == 200 and level["available"] == 4
        status, _, level = await call(
            http,
            "POST",
            f"{gw}/api/products/{rake['id']}/stock/adjustments",
            token=admin,
            json={"delta": -1, "reason": "damaged in the warehouse"},
        )
        assert status == 200 and level["on_hand"] == 3
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/products/{rake['id']}/stock/adjustments",
            token=admin,
            json={"delta": -10, "reason": "too many"},
        )
        assert status == 409

        status, _, found = await call(http, "GET", f"{gw}/api/products?category={root['slug']}")
        assert status == 200 and [p["id"] for p in found["data"]] == [rake["id"]]
        status, _, found = await call(http, "GET", f"{gw}/api/products?q=stell%20rake")
        assert status == 200 and rake["id"] in [p["id"] for p in found["data"]]  # a typo
        status, _, by_slug = await call(http, "GET", f"{gw}/api/products/{rake['slug']}")
        assert status == 200 and by_slug["id"] == rake["id"]
        assert by_slug["stock"] == {"available": 3, "in_stock": True}

        status, _, patched = await call(
            http,
            "PATCH",
            f"{gw}/api/products/{rake['id']}",
            token=admin,
            json={"price": {"amount": 2999, "currency": "USD"}},
        )
        assert status == 200 and patched["price"]["amount"] == 2999
        status, _, fresh = await call(http, "GET", f"{gw}/api/products/{rake['id']}")
        assert fresh["price"]["amount"] == 2999  # never stale after an admin edit

        status, _, _ = await call(http, "DELETE", f"{gw}/api/products/{rake['id']}", token=admin)
        assert status == 204
        status, _, found = await call(http, "GET", f"{gw}/api/products?category={root['slug']}")
        assert found["data"] == []
        status, _, _ = await call(http, "GET", f"{gw}/api/products/{uuid.uuid4()}")
        assert status == 404

    async def test_listing_filters_sorts_and_pagination(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        status, _, page = await call(
            http, "GET", f"{gw}/api/products?sort=price&min_price=1000&max_price=5000&limit=10"
        )
        assert status == 200
        prices = [p["price"]["amount"] for p in page["data"]]
        assert prices == sorted(prices) and all(1000 <= p <= 5000 for p in prices)
        status, _, page = await call(http, "GET", f"{gw}/api/products?in_stock=true&limit=100")
        assert all(p["stock"]["in_stock"] for p in page["data"])
        status, _, first = await call(http, "GET", f"{gw}/api/products?sort=-price&limit=5")
        status, _, second = await call(http, "GET", f"{gw}/api/products?sort=-price&limit=5&page=2")
        assert not {p["id"] for p in first["data"]} & {p["id"] for p in second["data"]}
        assert first["meta"]["total_pages"] == -(-first["meta"]["total"] // 5)
        for bad in ("sort=bogus", "page=0", "limit=0", "page=200&limit=100", "min_price=-1"):
            status, _, _body = await call(http, "GET", f"{gw}/api/products?{bad}")
            assert status == 422, bad


class TestCartEdits:
    async def test_patch_delete_and_limits(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        admin = await admin_token(http, platform)
        mug = await new_product(http, platform, admin, price=800, stock=5)
        user = await verified_user(http, platform)
        tok = user["access_token"]
        status, _, cart = await call(http, "GET", f"{gw}/api/cart", token=tok)
        assert status == 200 and cart["items"] == [] and cart["item_count"] == 0
        status, _, cart = await add_to_cart(http, gw, tok, mug["id"], 2)
        assert status == 201 and cart["items"][0]["line_total"]["amount"] == 1600
        version = cart["version"]
        status, _, problem = await add_to_cart(http, gw, tok, mug["id"], 4)
        assert status == 409 and problem["available"] == 5
        status, _, _ = await add_to_cart(http, gw, tok, str(uuid.uuid4()), 1)
        assert status == 404
        status, _, _ = await add_to_cart(http, gw, tok, mug["id"], 100)
        assert status == 422
        status, _, cart = await call(
            http, "PATCH", f"{gw}/api/cart/items/{mug['id']}", token=tok, json={"quantity": 3}
        )
        assert status == 200 and cart["item_count"] == 3 and cart["version"] > version
        status, _, cart = await call(
            http, "PATCH", f"{gw}/api/cart/items/{mug['id']}", token=tok, json={"quantity": 0}
        )
        assert status == 200 and cart["items"] == []
        await add_to_cart(http, gw, tok, mug["id"], 1)
        status, _, cart = await call(http, "DELETE", f"{gw}/api/cart/items/{mug['id']}", token=tok)
        assert status == 200 and cart["items"] == []
        await add_to_cart(http, gw, tok, mug["id"], 1)
        status, _, cart = await call(http, "DELETE", f"{gw}/api/cart", token=tok)
        assert status == 200 and cart["items"] == []

        # An archived product stays in the cart, flagged and out of the subtotal.
        await add_to_cart(http, gw, tok, mug["id"], 1)
        await call(http, "DELETE", f"{gw}/api/products/{mug['id']}", token=admin)
        status, _, cart = await call(http, "GET", f"{gw}/api/cart", token=tok)
        assert cart["items"][0]["purchasable"] is False and cart["subtotal"]["amount"] == 0

        status, _, _ = await call(
            http, "GET", f"{gw}/api/cart", headers={"X-Cart-Token": "unknown-token"}
        )
        assert status == 200


class TestOrderListing:
    async def test_owners_see_theirs_admins_filter(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        admin = await admin_token(http, platform)
        cup = await new_product(http, platform, admin, price=600, stock=10)
        buyer = await verified_user(http, platform)
        ids = []
        for _ in range(2):
            await add_to_cart(http, gw, buyer["access_token"], cup["id"], 1)
            status, _, order = await checkout(http, gw, buyer["access_token"])
            assert status == 201, order
            ids.append(order["id"])
        status, _, mine = await call(http, "GET", f"{gw}/api/orders", token=buyer["access_token"])
        assert status == 200 and [o["id"] for o in mine["data"]] == ids[::-1]  # newest first
        status, _, filtered = await call(
            http, "GET", f"{gw}/api/orders?user_id={buyer['id']}&status=paid", token=admin
        )
        assert status == 200 and {o["id"] for o in filtered["data"]} == set(ids)
        status, _, _ = await call(
            http, "POST", f"{gw}/api/orders/{ids[0]}/ship", token=buyer["access_token"], json={}
        )
        assert status == 403
        status, _, _ = await call(http, "POST", f"{gw}/api/orders/{ids[0]}/deliver", token=admin)
        assert status == 409  # not shipped yet
        status, _, _ = await call(
            http, "GET", f"{gw}/api/orders/{uuid.uuid4()}", token=buyer["access_token"]
        )
        assert status == 404
        status, _, _ = await call(http, "GET", f"{gw}/api/orders")
        assert status == 401

    async def test_idempotency_key_rules(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        admin = await admin_token(http, platform)
        pen = await new_product(http, platform, admin, price=300, stock=10)
        buyer = await verified_user(http, platform)
        tok = buyer["access_token"]
        await add_to_cart(http, gw, tok, pen["id"], 1)
        key = str(uuid.uuid4())
        body = {"shipping_address": ADDRESS, "payment": {"token": "tok_visa"}}
        status, _, _order = await call(
            http, "POST", f"{gw}/api/orders", token=tok, headers={"Idempotency-Key": key}, json=body
        )
        assert status == 201
        changed = {**body, "payment": {"token": "tok_mastercard"}}
        status, _, problem = await call(
            http,
            "POST",
            f"{gw}/api/orders",
            token=tok,
            headers={"Idempotency-Key": key},
            json=changed,
        )
        assert status == 422 and problem["status"] == 422
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/orders",
            token=tok,
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json=body,
        )
        assert status == 422  # the cart is empty now
        status, _, _ = await checkout(http, gw, tok, "tok_unknown")
        assert status == 422
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/orders",
            token=tok,
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={
                "shipping_address": {**ADDRESS, "country": "Narnia"},
                "payment": {"token": "tok_visa"},
            },
        )
        assert status == 422
