"""Every filter and sort of the listing can be answered from an index (``EXPLAIN``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from empora_common.db import plain_database_url
from empora_common.testing.infra import truncate_schema
from empora_product.products.search import ListQuery, build_list_statement
from empora_product.seed import seed_catalog
from empora_product.settings import ProductSettings

# Each query with the indexes its plan must use (a set: any one of those alternatives).
CASES: list[tuple[ListQuery, list[set[str]]]] = [
    (ListQuery(), [{"ix_product_active_created"}]),
    (ListQuery(sort="price"), [{"ix_product_active_price"}]),
    (ListQuery(sort="-price"), [{"ix_product_active_price_desc"}]),
    (ListQuery(sort="name"), [{"ix_product_active_name"}]),
    (ListQuery(min_price=1000, max_price=5000, sort="price"), [{"ix_product_active_price"}]),
    (
        ListQuery(category="electronics"),
        # (25 categories are read whole; the path index serves big trees.)
        [{"ix_product_active_category", "ix_product_category_id"}],
    ),
    (ListQuery(in_stock=True), [{"ix_stock_in_stock"}]),
    (ListQuery(q="wireless headphones"), [{"ix_product_search_vector"}, {"ix_product_name_trgm"}]),
]


# A catalog big enough for the planner to prefer indexes on its own merits.
_BULK = """
INSERT INTO product.product (sku, slug, name, description, price_amount, currency,
                             category_id, is_active, created_at)
SELECT 'BULK-' || i, 'bulk-' || i,
       (ARRAY['Compact', 'Deluxe', 'Travel', 'Classic', 'Smart'])[i % 5 + 1] || ' '
         || (ARRAY['Kettle', 'Backpack', 'Notebook', 'Chair', 'Blender', 'Jacket'])[i % 6 + 1]
         || ' ' || i,
       'A sturdy everyday item, number ' || i || '.',
       100 + (i * 37) % 50000, 'USD',
       (SELECT id FROM product.category ORDER BY slug OFFSET (i % 20) LIMIT 1),
       i % 10 <> 0, now() - i * interval '1 minute'
FROM generate_series(1, 20000) AS i;
INSERT INTO product.stock (product_id, on_hand, reserved)
SELECT id, (hashtext(sku) & 7), 0 FROM product.product WHERE sku LIKE 'BULK-%';
"""


@pytest.fixture(scope="module")
async def big_catalog(settings: ProductSettings, database_url: str) -> AsyncIterator[str]:
    await truncate_schema(database_url, "product")
    await seed_catalog(settings)
    conn = await asyncpg.connect(plain_database_url(database_url))
    try:
        await conn.execute(_BULK)
        # What autovacuum does on a live database (GIN statistics come from VACUUM).
        for table in ("product", "stock", "category"):
            await conn.execute(f"VACUUM ANALYZE product.{table}")
    finally:
        await conn.close()
    yield database_url
    await truncate_schema(database_url, "product")


class TestListingIndexes:
    @pytest.mark.parametrize(("query", "expected"), CASES, ids=[repr(c[0]) for c in CASES])
    async def test_plan_uses_the_index(
        self, big_catalog: str, query: ListQuery, expected: list[set[str]]
    ) -> None:
        statement = build_list_statement(query, 20, 0)
        conn = await asyncpg.connect(plain_database_url(big_catalog))
        try:
            rows = await conn.fetch("EXPLAIN " + statement.sql, *statement.args)
        finally:
            await conn.close()
        plan = "\n".join(r[0] for r in rows)
        for alternatives in expected:
            assert any(index in plan for index in alternatives), plan
        assert "Seq Scan on product " not in plan, plan
