"""Slugs generated from names."""

from __future__ import annotations

import uuid

from empora_product.slugs import looks_like_uuid, parse_uuid, slugify, with_suffix


class TestSlugify:
    def test_lowercases_and_joins_words_with_hyphens(self) -> None:
        assert slugify("Wireless Headphones — Pro!") == "wireless-headphones-pro"

    def test_folds_accents_to_ascii(self) -> None:
        assert slugify("Crème Brûlée Torch") == "creme-brulee-torch"

    def test_falls_back_when_nothing_is_left(self) -> None:
        assert slugify("¡¿!", fallback="product") == "product"

    def test_never_produces_something_that_reads_as_an_id(self) -> None:
        assert slugify(str(uuid.uuid4()), fallback="product") == "product"

    def test_is_bounded_in_length(self) -> None:
        slug = slugify("word " * 100)
        assert len(slug) <= 120
        assert not slug.endswith("-")


class TestWithSuffix:
    def test_keeps_a_free_slug(self) -> None:
        assert with_suffix("lamp", {"desk"}) == "lamp"

    def test_takes_the_first_free_number(self) -> None:
        assert with_suffix("lamp", {"lamp", "lamp-2", "lamp-4"}) == "lamp-3"


class TestParseUuid:
    def test_tells_ids_from_slugs(self) -> None:
        value = uuid.uuid4()
        assert parse_uuid(str(value)) == value
        assert parse_uuid("desk-lamp") is None
        assert looks_like_uuid(str(value))
        assert not looks_like_uuid("desk-lamp")
