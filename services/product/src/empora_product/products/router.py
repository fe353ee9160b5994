"""``/api/products``: public listing, search and detail; admin create, update and archive."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from empora_common.errors import ValidationFailed
from empora_common.pagination import Page
from empora_common.responses import OrjsonResponse
from empora_common.security import AdminUser
from empora_common.text import check_query_text
from empora_product.dependencies import Cache, CatalogSession, Pagination, Pool, Settings
from empora_product.products import reads, service
from empora_product.products.dependencies import AdminProduct
from empora_product.products.schemas import MAX_PRICE, ProductCreate, ProductOut, ProductUpdate
from empora_product.products.search import ListQuery, Sort

router = APIRouter(prefix="/api/products", tags=["products"])

_JSON = "application/json"


@router.get("", response_model=Page[ProductOut], summary="List and search active products")
async def list_products(
    pool: Pool,
    cache: Cache,
    page: Pagination,
    q: Annotated[str | None, Query(max_length=200, description="full-text search")] = None,
    category: Annotated[
        str | None, Query(max_length=200, description="category id or slug (with descendants)")
    ] = None,
    min_price: Annotated[int | None, Query(ge=0, le=MAX_PRICE, description="minor units")] = None,
    max_price: Annotated[int | None, Query(ge=0, le=MAX_PRICE, description="minor units")] = None,
    in_stock: bool | None = None,
    sort: Sort | None = None,
) -> Response:
    """Paginated active products; ranked by relevance when searching."""
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ValidationFailed(
            errors=[{"field": "min_price", "message": "min_price exceeds max_price"}]
        )
    check_query_text(q=q, category=category)
    query = ListQuery(
        q=(q or "").strip() or None,
        category=(category or "").strip() or None,
        min_price=min_price,
        max_price=max_price,
        in_stock=in_stock,
        sort=sort,
    )
    return Response(await reads.list_page(pool, cache, query, page), media_type=_JSON)


@router.get("/{id_or_slug}", response_model=ProductOut, summary="One product by id or slug")
async def get_product(id_or_slug: str, pool: Pool, cache: Cache) -> Response:
    """One product (archived ones too, with ``is_active: false``)."""
    return Response(await reads.detail(pool, cache, id_or_slug), media_type=_JSON)


@router.post("", status_code=201, response_model=ProductOut, summary="Create a product")
async def create_product(
    admin: AdminUser, body: ProductCreate, session: CatalogSession, settings: Settings
) -> OrjsonResponse:
    """Admin: create a product (SKU and slug unique: 409)."""
    document = await service.create(session, body, settings.store_currency, admin.user_id)
    return OrjsonResponse(document, status_code=201)


@router.patch("/{product_id}", response_model=ProductOut, summary="Update a product")
async def update_product(
    product: AdminProduct, body: ProductUpdate, session: CatalogSession, settings: Settings
) -> OrjsonResponse:
    """Admin: change the fields sent."""
    return OrjsonResponse(await service.update(session, product, body, settings.store_currency))


@router.delete("/{product_id}", status_code=204, summary="Archive a product")
async def archive_product(product: AdminProduct, session: CatalogSession) -> Response:
    """Admin: archive (soft delete): the product leaves listings."""
    await service.archive(session, product)
    return Response(status_code=204)
