"""Merging OpenAPI documents."""

from __future__ import annotations

from typing import Any

from empora_gateway.openapi import merge_documents


def _doc(paths: dict[str, Any], schemas: dict[str, Any], tags: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "paths": paths,
        "components": {"schemas": schemas},
        "tags": [{"name": t} for t in tags],
    }


def _ref(name: str) -> dict[str, Any]:
    return {"post": {"requestBody": {"content": {"x": {"schema": {"$ref": name}}}}}}


class TestMergeDocuments:
    def test_keeps_only_public_api_paths(self) -> None:
        merged = merge_documents(
            {
                "a": _doc(
                    {"/api/a": {}, "/internal/a": {}, "/health": {}, "/api/internal/x": {}}, {}
                )
            },
            title="t",
            version="1",
            unavailable=[],
        )
        assert list(merged["paths"]) == ["/api/a"]

    def test_identical_components_are_shared(self) -> None:
        money = {"type": "object", "properties": {"amount": {"type": "integer"}}}
        merged = merge_documents(
            {"a": _doc({}, {"Money": money}), "b": _doc({}, {"Money": money})},
            title="t",
            version="1",
            unavailable=[],
        )
        assert merged["components"]["schemas"] == {"Money": money}

    def test_clashing_components_are_renamed_with_their_refs(self) -> None:
        merged = merge_documents(
            {
                "cart": _doc(
                    {"/api/cart": _ref("#/components/schemas/Item")}, {"Item": {"title": "c"}}
                ),
                "order": _doc(
                    {"/api/orders": _ref("#/components/schemas/Item")},
                    {
                        "Item": {"title": "o"},
                        "Order": {"properties": {"i": {"$ref": "#/components/schemas/Item"}}},
                    },
                ),
            },
            title="t",
            version="1",
            unavailable=[],
        )
        schemas = merged["components"]["schemas"]
        assert schemas["Item"] == {"title": "c"}
        assert schemas["OrderItem"] == {"title": "o"}
        assert schemas["Order"]["properties"]["i"]["$ref"] == "#/components/schemas/OrderItem"
        cart_ref = merged["paths"]["/api/cart"]["post"]["requestBody"]["content"]["x"]["schema"]
        order_ref = merged["paths"]["/api/orders"]["post"]["requestBody"]["content"]["x"]["schema"]
        assert cart_ref["$ref"] == "#/components/schemas/Item"
        assert order_ref["$ref"] == "#/components/schemas/OrderItem"

    def test_tags_are_united_and_unavailable_services_named(self) -> None:
        merged = merge_documents(
            {"a": _doc({}, {}, ["x", "y"]), "b": _doc({}, {}, ["y", "z"])},
            title="Empora API",
            version="2",
            unavailable=["order", "cart"],
        )
        assert [t["name"] for t in merged["tags"]] == ["x", "y", "z"]
        assert merged["info"]["title"] == "Empora API"
        assert merged["info"]["x-empora-unavailable"] == ["cart", "order"]
        assert merged["openapi"].startswith("3.")
