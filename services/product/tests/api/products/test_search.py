"""Search relevance on a small fixture catalog: exact name first, typos and prefixes found."""

from __future__ import annotations

from product_api import Api

CATALOG = [
    ("SR-1", "Wireless Headphones", "Over-ear, with noise cancelling for travel."),
    ("SR-2", "Headphone Stand", "A walnut stand for your wireless headphones."),
    ("SR-3", "Wireless Headphones Pro", "Our best headphones with spatial audio."),
    ("SR-4", "Mechanical Keyboard", "Hot-swappable switches, wireless and wired."),
    ("SR-5", "Espresso Machine", "Fifteen bar pump and a steam wand for milk."),
    ("SR-6", "Travel Mug", "Keeps coffee hot; pairs well with any headphones."),
]


async def search(api: Api, q: str, **params: str) -> list[str]:
    reply = await api.get("/api/products", params={"q": q, **params})
    assert reply.status == 200, reply.body
    return [p["sku"] for p in reply.body["data"]]


class TestSearch:
    async def _catalog(self, api: Api) -> None:
        for sku, name, description in CATALOG:
            await api.create_product(sku, name, description=description)

    async def test_exact_name_ranks_first(self, api: Api) -> None:
        await self._catalog(api)
        found = await search(api, "wireless headphones")
        assert found[0] == "SR-1"
        assert "SR-3" in found[:2]
        assert "SR-5" not in found

    async def test_name_matches_rank_above_description_matches(self, api: Api) -> None:
        await self._catalog(api)
        found = await search(api, "headphones")
        assert set(found[:2]) == {"SR-1", "SR-3"}
        assert found.index("SR-6") > found.index("SR-1")

    async def test_a_typo_is_still_found(self, api: Api) -> None:
        await self._catalog(api)
        assert (await search(api, "hedphones"))[0] in {"SR-1", "SR-3"}
        assert await search(api, "espreso") == ["SR-5"]
        assert (await search(api, "keybord"))[0] == "SR-4"

    async def test_the_last_word_matches_as_a_prefix(self, api: Api) -> None:
        await self._catalog(api)
        assert await search(api, "espr") == ["SR-5"]
        assert (await search(api, "mechanical keyb"))[0] == "SR-4"

    async def test_websearch_syntax_excludes_words(self, api: Api) -> None:
        await self._catalog(api)
        found = await search(api, "headphones -stand")
        assert "SR-1" in found
        assert "SR-2" not in found

    async def test_no_match_is_an_empty_page(self, api: Api) -> None:
        await self._catalog(api)
        reply = await api.get("/api/products", params={"q": "zzzqqq"})
        assert reply.body["data"] == []
        assert reply.body["meta"]["total"] == 0

    async def test_search_combines_with_filters_and_other_sorts(self, api: Api) -> None:
        await self._catalog(api)
        await api.patch(
            f"/api/products/{(await api.get('/api/products/wireless-headphones-pro')).body['id']}",
            json={"price": 99_900},
            headers=api.admin,
        )
        found = await search(api, "headphones", sort="-price", max_price="99999")
        assert found[0] == "SR-3"
        cheap = await search(api, "headphones", max_price="5000")
        assert "SR-3" not in cheap

    async def test_odd_input_never_fails(self, api: Api) -> None:
        await self._catalog(api)
        for q in ('"unbalanced', "a:* & | !", "'); drop table product; --", "-", "ü∂ß", "  "):
            reply = await api.get("/api/products", params={"q": q})
            assert reply.status == 200, (q, reply.body)
