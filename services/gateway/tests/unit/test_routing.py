"""Routing decisions: which upstream, which paths are refused, which get the long timeout."""

from __future__ import annotations

import pytest

from empora_gateway import routing


class TestResolve:
    @pytest.mark.parametrize(
        ("path", "service"),
        [
            ("/api/auth", "auth"),
            ("/api/auth/login", "auth"),
            ("/api/users/1", "auth"),
            ("/api/products", "product"),
            ("/api/categories/a/b", "product"),
            ("/api/cart/items", "cart"),
            ("/api/orders/1/ship", "order"),
            ("/api/notifications", "notification"),
        ],
    )
    def test_routes_by_the_first_segment(self, path: str, service: str) -> None:
        target = routing.resolve(path)
        assert target is not None
        assert target.service == service
        assert not target.own

    @pytest.mark.parametrize("path", ["/api/health", "/api/docs", "/api/openapi.json", "/metrics"])
    def test_own_routes_stay_at_the_gateway(self, path: str) -> None:
        target = routing.resolve(path)
        assert target is not None and target.own

    @pytest.mark.parametrize(
        "path", ["/", "/api", "/api/", "/api/cartx", "/api/Products", "/apix/cart", "/products"]
    )
    def test_anything_else_has_no_target(self, path: str) -> None:
        assert routing.resolve(path) is None


class TestIsSuspicious:
    @pytest.mark.parametrize(
        ("path", "raw"),
        [
            ("/api/products/abc", b"/api/products/abc"),
            ("/api/products/internal-drive", b"/api/products/internal-drive"),
            ("/api/auth/.well-known/jwks.json", b"/api/auth/.well-known/jwks.json"),
            ("/api/products/red shoe", b"/api/products/red%20shoe"),
            ("/api/products/café", b"/api/products/caf%C3%A9"),
        ],
    )
    def test_ordinary_paths_pass(self, path: str, raw: bytes) -> None:
        assert not routing.is_suspicious(path, raw)

    @pytest.mark.parametrize(
        ("path", "raw"),
        [
            ("/internal/x", b"/internal/x"),
            ("/Internal/x", b"/Internal/x"),
            ("/api/cart/internal", b"/api/cart/internal"),
            ("/api/../internal/x", b"/api/../internal/x"),
            ("/api/products/./x", b"/api/products/./x"),
            ("/api/products/../x", b"/api/products/%2e%2e/x"),
            ("/api/products/%2e%2e/x", b"/api/products/%252e%252e/x"),
            ("/api/products/a/b", b"/api/products/a%2Fb"),
            ("/api/products/a\\b", b"/api/products/a%5Cb"),
            ("/api/products/a\\..\\b", b"/api/products/a\\..\\b"),
            ("/api/products/a\x00", b"/api/products/a%00"),
            ("/api/cart/internal/carts", b"/api/cart/%69nternal/carts"),
        ],
    )
    def test_internal_dot_segments_and_encoded_separators_are_refused(
        self, path: str, raw: bytes
    ) -> None:
        assert routing.is_suspicious(path, raw)

    def test_works_without_a_raw_path(self) -> None:
        assert routing.is_suspicious("/internal/x", None)
        assert not routing.is_suspicious("/api/cart", None)


class TestIsCheckoutLike:
    @pytest.mark.parametrize(
        ("method", "path", "expected"),
        [
            ("POST", "/api/orders", True),
            ("POST", "/api/orders/1/cancel", True),
            ("GET", "/api/orders", False),
            ("POST", "/api/ordersx", False),
            ("POST", "/api/cart/items", False),
        ],
    )
    def test_order_writes_get_the_long_timeout(
        self, method: str, path: str, expected: bool
    ) -> None:
        assert routing.is_checkout_like(method, path) is expected
