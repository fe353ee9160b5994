"""Journeys through the gateway of a platform started by ``empora up``, using only the routes,
fields, statuses and emails of the public contract (API.md), as a client would."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import Platform

pytestmark = pytest.mark.slow

PASSWORD = "a long enough passphrase"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "London",
    "postal_code": "N1 7AA",
    "country": "GB",
}


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> tuple[int, dict[str, str], Any]:
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    async with http.request(method, url, headers=hdrs, **kw) as resp:
        raw = await resp.read()
        body: Any = None
        if raw:
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                body = raw.decode(errors="replace")
        return resp.status, resp.headers.copy(), body  # type: ignore[return-value]


async def add_to_cart(
    http: aiohttp.ClientSession, gw: str, token: str, product_id: str, quantity: int
) -> tuple[int, Any, Any]:
    """``POST /api/cart/items`` for a signed-in user: (status, headers, cart)."""
    return await call(
        http,
        "POST",
        f"{gw}/api/cart/items",
        token=token,
        json={"product_id": product_id, "quantity": quantity},
    )


async def checkout(
    http: aiohttp.ClientSession, gw: str, token: str, payment: str = "tok_visa", **extra: Any
) -> tuple[int, Any, Any]:
    """``POST /api/orders`` with a fresh Idempotency-Key: (status, headers, order/problem)."""
    return await call(
        http,
        "POST",
        f"{gw}/api/orders",
        token=token,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"shipping_address": ADDRESS, "payment": {"token": payment}, **extra},
    )


async def wait_for_email(
    http: aiohttp.ClientSession, platform: Platform, to: str, subject_has: str, timeout: float = 20
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        _, _, listing = await call(http, "GET", f"{platform.sink}/api/messages")
        for msg in listing or []:
            if to in msg["to"] and subject_has.lower() in msg["subject"].lower():
                _, _, full = await call(http, "GET", f"{platform.sink}/api/messages/{msg['id']}")
                return dict(full)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no email to {to} with {subject_has!r}")
        await asyncio.sleep(0.2)


def levels(stock: dict[str, Any]) -> dict[str, int]:
    return {k: stock[k] for k in ("on_hand", "reserved", "available")}


def token_from(text: str, path: str) -> str:
    match = re.search(rf"/{path}\?token=([A-Za-z0-9_-]+)\s", text + "\n")
    assert match, f"no {path} link in:\n{text}"
    return match.group(1)


async def verified_user(http: aiohttp.ClientSession, platform: Platform) -> dict[str, Any]:
    """Register, click the emailed link, log in: a customer who may check out."""
    email = f"buyer-{uuid.uuid4().hex[:10]}@Example.com"
    status, _, user = await call(
        http,
        "POST",
        f"{platform.gateway}/api/auth/register",
        json={"email": email, "password": PASSWORD, "first_name": "Ada"},
    )
    assert status == 201, user
    assert user["email"] == email.lower() and user["email_verified"] is False
    mail = await wait_for_email(http, platform, email.lower(), "")
    token = token_from(mail["text"], "verify-email")
    status, _, verified = await call(
        http, "POST", f"{platform.gateway}/api/auth/verify-email", json={"token": token}
    )
    assert status == 200 and verified["email_verified"] is True
    status, _, tokens = await call(
        http,
        "POST",
        f"{platform.gateway}/api/auth/login",
        json={"email": email.upper(), "password": PASSWORD},
    )
    assert status == 200, tokens
    return {"email": email.lower(), "id": user["id"], **tokens}


async def admin_token(http: aiohttp.ClientSession, platform: Platform) -> str:
    status, _, tokens = await call(
        http,
        "POST",
        f"{platform.gateway}/api/auth/login",
        json={"email": platform.admin_email, "password": platform.admin_password},
    )
    assert status == 200, tokens
    return str(tokens["access_token"])


async def new_product(
    http: aiohttp.ClientSession, platform: Platform, admin: str, *, price: int, stock: int
) -> dict[str, Any]:
    sku = f"E2E-{uuid.uuid4().hex[:8].upper()}"
    status, _, product = await call(
        http,
        "POST",
        f"{platform.gateway}/api/products",
        token=admin,
        json={
            "sku": sku,
            "name": f"Journey Lamp {sku}",
            "description": "A lamp for journeys",
            "price": {"amount": price, "currency": "USD"},
        },
    )
    assert status == 201, product
    status, _, level = await call(
        http,
        "PUT",
        f"{platform.gateway}/api/products/{product['id']}/stock",
        token=admin,
        json={"quantity": stock},
    )
    assert status == 200 and levels(level) == {"on_hand": stock, "reserved": 0, "available": stock}
    return dict(product)


class TestPlatformHealth:
    async def test_every_service_is_ok(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        status, headers, body = await call(http, "GET", f"{platform.gateway}/api/health")
        assert status == 200, body
        assert body["status"] == "ok"
        for name in ("auth", "product", "cart", "order", "notification"):
            assert body["services"][name]["status"] == "ok"
        assert headers.get("X-Request-ID")


class TestGatewayErrors:
    async def test_contract_errors_are_problem_json(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        status, headers, body = await call(
            http,
            "POST",
            f"{gw}/api/auth/login",
            data=b'{"email": ',
            headers={"Content-Type": "application/json"},
        )
        assert status == 400 and headers["Content-Type"].startswith("application/problem+json")
        assert body["status"] == 400 and body["request_id"]
        status, _, body = await call(http, "GET", f"{gw}/api/nowhere")
        assert status == 404 and body["type"].startswith("https://empora.dev/problems/")
        status, _, _ = await call(http, "POST", f"{gw}/internal/reservations", json={})
        assert status == 404
        status, _, body = await call(
            http,
            "POST",
            f"{gw}/api/auth/register",
            data=b"x" * (3 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
        assert status == 413 and body["status"] == 413
        status, _, body = await call(http, "GET", f"{gw}/api/products?limit=101")
        assert status == 422 and body["errors"]
        # 401, then 403, before a bad query is judged (the contract's precedence).
        for path in ("/api/users", "/api/orders", "/api/notifications"):
            status, _, _ = await call(http, "GET", f"{gw}{path}?limit=0")
            assert status == 401, path
        buyer = await verified_user(http, platform)
        status, _, _ = await call(
            http, "GET", f"{gw}/api/users?limit=0", token=buyer["access_token"]
        )
        assert status == 403
        status, _, body = await call(
            http, "GET", f"{gw}/api/orders?limit=0", token=buyer["access_token"]
        )
        assert status == 422 and body["errors"][0]["field"] == "limit"
        status, _, _ = await call(http, "GET", f"{gw}/api/categories?limit=0")
        assert status == 200
        # HEAD answers what GET would, without the body (the services only route GET).
        for path in ("/api/health", "/api/products", "/api/categories"):
            status, headers, body = await call(http, "HEAD", f"{gw}{path}")
            assert status == 200 and body is None and int(headers["Content-Length"]) > 0, path
        status, headers, _ = await call(
            http, "GET", f"{gw}/api/products", headers={"X-Request-ID": "journey-req-1"}
        )
        assert status == 200 and headers["X-Request-ID"] == "journey-req-1"


class TestAccountJourney:
    async def test_register_verify_login_refresh_reset(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        user = await verified_user(http, platform)
        status, _, me = await call(http, "GET", f"{gw}/api/auth/me", token=user["access_token"])
        assert status == 200 and me["email"] == user["email"] and me["email_verified"] is True

        status, _, body = await call(
            http,
            "PATCH",
            f"{gw}/api/auth/me",
            token=user["access_token"],
            json={"roles": ["admin"]},
        )
        assert status == 422

        status, _, pair = await call(
            http, "POST", f"{gw}/api/auth/refresh", json={"refresh_token": user["refresh_token"]}
        )
        assert status == 200 and pair["refresh_token"] != user["refresh_token"]
        status, _, _ = await call(
            http, "POST", f"{gw}/api/auth/refresh", json={"refresh_token": user["refresh_token"]}
        )
        assert status == 401  # reuse revokes the family...
        status, _, _ = await call(
            http, "POST", f"{gw}/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert status == 401  # ...including the newer token

        status, _, body = await call(
            http,
            "POST",
            f"{gw}/api/auth/login",
            json={"email": user["email"], "password": "wrong!!!!"},
        )
        status2, _, body2 = await call(
            http,
            "POST",
            f"{gw}/api/auth/login",
            json={"email": f"nobody-{uuid.uuid4().hex}@example.com", "password": "wrong!!!!"},
        )
        assert status == status2 == 401
        assert {k: v for k, v in body.items() if k not in ("request_id", "instance")} == {
            k: v for k, v in body2.items() if k not in ("request_id", "instance")
        }

        status, _, _ = await call(
            http, "POST", f"{gw}/api/auth/forgot-password", json={"email": user["email"]}
        )
        assert status == 202
        mail = await wait_for_email(http, platform, user["email"], "password")
        reset = token_from(mail["text"], "reset-password")
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/reset-password",
            json={"token": reset, "new_password": "another long passphrase"},
        )
        assert status == 200
        status, _, _ = await call(http, "GET", f"{gw}/api/auth/me", token=pair["access_token"])
        assert status == 401  # issued before the reset
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/reset-password",
            json={"token": reset, "new_password": "yet another passphrase"},
        )
        assert status == 400  # single use
        status, _, _ = await call(
            http,
            "POST",
            f"{gw}/api/auth/login",
            json={"email": user["email"], "password": "another long passphrase"},
        )
        assert status == 200


class TestShoppingJourney:
    async def test_guest_cart_merge_checkout_ship_deliver(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        admin = await admin_token(http, platform)
        lamp = await new_product(http, platform, admin, price=2500, stock=5)

        status, headers, cart = await call(
            http, "POST", f"{gw}/api/cart/items", json={"product_id": lamp["id"], "quantity": 2}
        )
        assert status == 201, cart
        guest_token = cart["cart_token"]
        assert headers["X-Cart-Token"] == guest_token
        status, _, cart = await call(
            http, "GET", f"{gw}/api/cart", headers={"X-Cart-Token": guest_token}
        )
        assert cart["item_count"] == 2 and cart["subtotal"] == {"amount": 5000, "currency": "USD"}

        user = await verified_user(http, platform)
        status, _, cart = await call(
            http,
            "POST",
            f"{gw}/api/cart/merge",
            token=user["access_token"],
            json={"cart_token": guest_token},
        )
        assert status == 200 and cart["item_count"] == 2

        key = str(uuid.uuid4())
        body = {
            "shipping_address": ADDRESS,
            "payment": {"token": "tok_visa"},
            "expected_total": {"amount": 5000, "currency": "USD"},
        }
        status, _, order = await call(
            http,
            "POST",
            f"{gw}/api/orders",
            token=user["access_token"],
            headers={"Idempotency-Key": key},
            json=body,
        )
        if status == 422 and any(
            e.get("field") == "expected_total" for e in order.get("errors", [])
        ):
            body["expected_total"] = 5000
            status, _, order = await call(
                http,
                "POST",
                f"{gw}/api/orders",
                token=user["access_token"],
                headers={"Idempotency-Key": key},
                json=body,
            )
        assert status == 201, order
        assert order["status"] == "paid"
        assert re.fullmatch(r"EMP-\d{8}-[0-9A-Z]{6}", order["number"])
        assert order["total"] == {"amount": 5000, "currency": "USD"}  # free shipping at 5000
        assert order["payment"]["status"] == "captured"
        assert order["customer_email"] == user["email"]

        status, headers, again = await call(
            http,
            "POST",
            f"{gw}/api/orders",
            token=user["access_token"],
            headers={"Idempotency-Key": key},
            json=body,
        )
        assert status == 201 and again["id"] == order["id"]
        assert headers.get("Idempotent-Replayed") == "true"

        status, _, cart = await call(http, "GET", f"{gw}/api/cart", token=user["access_token"])
        assert cart["item_count"] == 0
        status, _, level = await call(
            http, "GET", f"{gw}/api/products/{lamp['id']}/stock", token=admin
        )
        assert levels(level) == {"on_hand": 3, "reserved": 0, "available": 3}

        mail = await wait_for_email(http, platform, user["email"], order["number"])
        assert "Journey Lamp" in mail["text"]

        status, _, shipped = await call(
            http,
            "POST",
            f"{gw}/api/orders/{order['id']}/ship",
            token=admin,
            json={"tracking_number": "1Z999AA10123456784"},
        )
        assert status == 200 and shipped["status"] == "shipped"
        mail = await wait_for_email(http, platform, user["email"], f"{order['number']}")
        shipped_mail = await wait_for_email(http, platform, user["email"], "shipped")
        assert "1Z999AA10123456784" in shipped_mail["text"]
        status, _, _ = await call(
            http, "POST", f"{gw}/api/orders/{order['id']}/cancel", token=user["access_token"]
        )
        assert status == 409
        status, _, delivered = await call(
            http, "POST", f"{gw}/api/orders/{order['id']}/deliver", token=admin
        )
        assert status == 200 and delivered["status"] == "delivered"
        assert [h["status"] for h in delivered["status_history"]][-3:] == [
            "paid",
            "shipped",
            "delivered",
        ]

        other = await verified_user(http, platform)
        status, _, _ = await call(
            http, "GET", f"{gw}/api/orders/{order['id']}", token=other["access_token"]
        )
        assert status == 404

        status, _, mine = await call(
            http, "GET", f"{gw}/api/notifications", token=user["access_token"]
        )
        assert status == 200 and mine["meta"]["total"] >= 3
        assert all(n["to"] == user["email"] for n in mine["data"])

    async def test_cancel_refunds_and_returns_stock(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        admin = await admin_token(http, platform)
        lamp = await new_product(http, platform, admin, price=1000, stock=3)
        user = await verified_user(http, platform)
        await add_to_cart(http, gw, user["access_token"], lamp["id"], 3)
        status, _, order = await checkout(http, gw, user["access_token"], "tok_mastercard")
        assert status == 201, order
        assert order["shipping"]["amount"] == 499 and order["total"]["amount"] == 3499
        status, _, cancelled = await call(
            http, "POST", f"{gw}/api/orders/{order['id']}/cancel", token=user["access_token"]
        )
        assert status == 200 and cancelled["status"] == "cancelled"
        assert cancelled["payment"]["status"] == "refunded"
        status, _, _ = await call(
            http, "POST", f"{gw}/api/orders/{order['id']}/cancel", token=user["access_token"]
        )
        assert status == 409
        _, _, level = await call(http, "GET", f"{gw}/api/products/{lamp['id']}/stock", token=admin)
        assert levels(level) == {"on_hand": 3, "reserved": 0, "available": 3}
        await wait_for_email(http, platform, user["email"], order["number"] + "")

    async def test_declined_short_and_unverified(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        gw = platform.gateway
        admin = await admin_token(http, platform)
        lamp = await new_product(http, platform, admin, price=1500, stock=1)
        user = await verified_user(http, platform)
        await add_to_cart(http, gw, user["access_token"], lamp["id"], 1)

        status, _, problem = await call(
            http,
            "POST",
            f"{gw}/api/orders",
            token=user["access_token"],
            json={"shipping_address": ADDRESS, "payment": {"token": "tok_visa"}},
        )
        assert status == 400  # no Idempotency-Key

        status, headers, problem = await checkout(
            http, gw, user["access_token"], "tok_chargeDeclined"
        )
        assert status == 402, problem
        assert headers["Content-Type"].startswith("application/problem+json")
        assert problem["decline_code"] == "card_declined" and problem["order_id"]
        status, _, failed = await call(
            http, "GET", f"{gw}/api/orders/{problem['order_id']}", token=user["access_token"]
        )
        assert failed["status"] == "payment_failed"
        _, _, level = await call(http, "GET", f"{gw}/api/products/{lamp['id']}/stock", token=admin)
        assert level["reserved"] == 0 and level["available"] == 1
        _, _, cart = await call(http, "GET", f"{gw}/api/cart", token=user["access_token"])
        assert cart["item_count"] == 1  # the cart is kept

        await call(
            http, "PUT", f"{gw}/api/products/{lamp['id']}/stock", token=admin, json={"quantity": 0}
        )
        status, _, problem = await checkout(http, gw, user["access_token"])
        assert status == 409, problem
        assert problem["short_lines"] == [
            {"product_id": lamp["id"], "requested": 1, "available": 0}
        ]

        email = f"unverified-{uuid.uuid4().hex[:8]}@example.com"
        await call(
            http, "POST", f"{gw}/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        _, _, tokens = await call(
            http, "POST", f"{gw}/api/auth/login", json={"email": email, "password": PASSWORD}
        )
        status, _, problem = await checkout(http, gw, tokens["access_token"])
        assert status == 403, problem


class TestTracing:
    async def test_a_checkout_is_one_trace_through_services_and_events(
        self, http: aiohttp.ClientSession, platform: Platform
    ) -> None:
        """The buyer's ``traceparent`` starts the trace: the gateway, the order service, its
        calls to cart and product, the relay's publish and the consumers (notification's
        email, the product's and cart's backups) all export spans of that one trace."""
        if platform.traces is None:
            pytest.skip("a platform started elsewhere exports its traces elsewhere")
        buyer = await verified_user(http, platform)
        admin = await admin_token(http, platform)
        product = await new_product(http, platform, admin, price=1500, stock=3)
        status, _, _ = await add_to_cart(
            http, platform.gateway, buyer["access_token"], product["id"], 1
        )
        assert status == 201
        trace_id, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
        status, _, order = await call(
            http,
            "POST",
            f"{platform.gateway}/api/orders",
            token=buyer["access_token"],
            headers={
                "Idempotency-Key": str(uuid.uuid4()),
                "traceparent": f"00-{trace_id}-{caller_span}-01",
            },
            json={"shipping_address": ADDRESS, "payment": {"token": "tok_visa"}},
        )
        assert status == 201, order

        wanted = {
            ("empora-gateway", "SERVER"),
            ("empora-order", "SERVER"),
            ("empora-order", "CLIENT"),
            ("empora-cart", "SERVER"),
            ("empora-product", "SERVER"),
            ("empora-order", "PRODUCER"),
            ("empora-notification", "CONSUMER"),
            ("empora-product", "CONSUMER"),
            ("empora-cart", "CONSUMER"),
        }
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            spans = platform.traces.of_trace(trace_id)
            if wanted <= {(s.service, s.kind) for s in spans}:
                break
            assert asyncio.get_running_loop().time() < deadline, (
                sorted({(s.service, s.kind, s.name) for s in spans}),
                sorted({(s.service, s.kind, s.name) for s in platform.traces.spans}),
            )
            await asyncio.sleep(0.25)

        by_id = {s.span_id: s for s in spans}
        (edge,) = [s for s in spans if s.service == "empora-gateway" and s.kind == "SERVER"]
        assert edge.parent_span_id == caller_span
        placed = next(s for s in spans if s.name == "POST /api/orders" and s.kind == "SERVER")
        assert placed.service == "empora-order" and placed.parent_span_id == edge.span_id
        reserve = next(
            s
            for s in spans
            if s.service == "empora-product" and s.name == "POST /internal/reservations"
        )
        assert by_id[reserve.parent_span_id].service == "empora-order"
        assert by_id[reserve.parent_span_id].kind == "CLIENT"
        paid = next(s for s in spans if s.name == "order.paid publish")
        assert paid.service == "empora-order"
        consumers = [s for s in spans if s.kind == "CONSUMER" and s.parent_span_id == paid.span_id]
        assert {s.service for s in consumers} == {
            "empora-notification",
            "empora-product",
            "empora-cart",
        }
