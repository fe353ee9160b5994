"""Building the listing and search statement."""

from __future__ import annotations

import uuid

import pytest

from empora_product.products.search import (
    ListQuery,
    build_count_statement,
    build_list_statement,
    negated_words,
    split_last_word,
    trigram_words,
)


class TestSplitLastWord:
    def test_the_last_word_becomes_a_prefix(self) -> None:
        assert split_last_word("wireless headph") == ("wireless", "headph")

    def test_a_single_word_is_its_own_prefix(self) -> None:
        assert split_last_word("Espr") == ("", "espr")

    @pytest.mark.parametrize("q", ['"wireless headph"', "headphones -stand", "x", "!!"])
    def test_quoted_negated_or_tiny_words_are_not_prefixes(self, q: str) -> None:
        assert split_last_word(q) == (q, None)


class TestTrigramWords:
    def test_takes_distinct_meaningful_words(self) -> None:
        assert trigram_words("Hedphones with hedphones case") == ["hedphones", "case"]

    def test_skips_short_negated_and_excess_words(self) -> None:
        assert trigram_words("red headphones -stand") == ["headphones"]
        assert len(trigram_words("alpha bravo charlie delta echoes foxtrot")) == 5

    def test_negated_words(self) -> None:
        assert negated_words("headphones -stand -Case") == ["stand", "case"]


class TestListQuery:
    def test_default_sort_depends_on_the_search_term(self) -> None:
        assert ListQuery().effective_sort == "-created_at"
        assert ListQuery(q="lamp").effective_sort == "relevance"
        assert ListQuery(sort="relevance").effective_sort == "-created_at"
        assert ListQuery(q="lamp", sort="price").effective_sort == "price"

    def test_stock_filtered_listings_are_not_cached(self) -> None:
        assert ListQuery().cacheable
        assert not ListQuery(in_stock=True).cacheable

    def test_cache_keys_tell_listings_apart(self) -> None:
        keys = {
            ListQuery().cache_key(1, 20),
            ListQuery().cache_key(2, 20),
            ListQuery().cache_key(1, 10),
            ListQuery(q="lamp").cache_key(1, 20),
            ListQuery(category="lamps").cache_key(1, 20),
            ListQuery(min_price=1).cache_key(1, 20),
            ListQuery(max_price=1).cache_key(1, 20),
            ListQuery(sort="price").cache_key(1, 20),
        }
        assert len(keys) == 8
        assert ListQuery(sort=None).cache_key(1, 20) == ListQuery(sort="-created_at").cache_key(
            1, 20
        )


class TestBuildListStatement:
    def test_user_input_only_travels_as_arguments(self) -> None:
        evil = "'; DROP TABLE product.product; --"
        statement = build_list_statement(ListQuery(q=evil, category=evil), 20, 40)
        assert evil not in statement.sql
        assert evil in statement.args
        assert statement.args[-2:] == (20, 40)

    def test_every_sort_ends_with_the_tie_breakers(self) -> None:
        for sort in ("price", "-price", "name", "-created_at"):
            sql = build_list_statement(ListQuery(sort=sort), 20, 0).sql  # type: ignore[arg-type]
            assert sql.split("ORDER BY ")[1].split(" LIMIT")[0].endswith("p.created_at DESC, p.id")

    def test_only_active_products_are_listed(self) -> None:
        assert "WHERE p.is_active" in build_list_statement(ListQuery(), 20, 0).sql

    def test_a_category_id_is_matched_as_an_id(self) -> None:
        category = uuid.uuid4()
        statement = build_list_statement(ListQuery(category=str(category)), 20, 0)
        assert category in statement.args

    def test_the_count_uses_the_same_filter_without_paging(self) -> None:
        query = ListQuery(q="lamp", min_price=100, in_stock=True)
        count = build_count_statement(query)
        page = build_list_statement(query, 20, 0)
        assert count.sql.startswith("SELECT count(*) FROM product.product p")
        assert count.args == page.args[:-2]
