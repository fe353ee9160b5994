"""Pure tree helpers of the categories slice."""

from __future__ import annotations

import uuid
from typing import Any

from empora_product.categories.service import build_tree, path_ids


def row(name: str, parent: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "name": name,
        "slug": name.lower(),
        "parent_id": parent["id"] if parent else None,
    }


class TestBuildTree:
    def test_nests_children_under_their_parents(self) -> None:
        a = row("A")
        b = row("B", a)
        c = row("C", b)
        d = row("D")
        tree = build_tree([a, d, b, c])
        assert [n["slug"] for n in tree] == ["a", "d"]
        assert tree[0]["children"][0]["children"][0]["slug"] == "c"
        assert tree[0]["children"][0]["parent_id"] == str(a["id"])

    def test_rows_without_their_parent_become_roots(self) -> None:
        a = row("A")
        b = row("B", a)
        assert [n["slug"] for n in build_tree([b])] == ["b"]

    def test_an_empty_tree(self) -> None:
        assert build_tree([]) == []


class TestPathIds:
    def test_reads_ids_root_first(self) -> None:
        ids = [uuid.uuid4() for _ in range(3)]
        assert path_ids("/" + "/".join(map(str, ids)) + "/") == ids
