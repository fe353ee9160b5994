"""Product rules: create, update, archive; slugs, uniqueness and their events."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from empora_common.db import driver_connection
from empora_common.errors import ValidationFailed
from empora_common.messaging.outbox import add_event
from empora_contracts.events import ProductUpdated
from empora_product.cache import mark_catalog_changed
from empora_product.documents import product_document, with_stock
from empora_product.models import outbox
from empora_product.products import repository as repo
from empora_product.products.errors import ProductNotFound, SkuTaken, SlugTaken
from empora_product.products.schemas import PriceIn, ProductCreate, ProductUpdate
from empora_product.slugs import findable, parse_uuid, slugify, with_suffix
from empora_product.stock import repository as stock_repo
from empora_product.stock import service as stock_service

# Fields whose change is announced in ``product.updated`` (JSON-ready values).
_EVENT_FIELDS = (
    "sku",
    "slug",
    "name",
    "description",
    "price",
    "category_id",
    "images",
    "attributes",
    "is_active",
)


def _price_values(price: PriceIn, store_currency: str) -> dict[str, Any]:
    currency = price.currency or store_currency
    if currency != store_currency:
        raise ValidationFailed(
            errors=[
                {
                    "field": "price.currency",
                    "message": f"prices are in the store currency {store_currency}",
                }
            ]
        )
    return {"price_amount": price.amount, "currency": currency}


def _integrity_error(exc: IntegrityError) -> Exception:
    text = str(exc.orig)
    if "uq_product_sku" in text:
        return SkuTaken("Another product has this SKU")
    if "uq_product_slug" in text:
        return SlugTaken("Another product has this slug")
    if "fk_product_category_id_category" in text:
        return ValidationFailed(errors=[{"field": "category_id", "message": "no such category"}])
    return exc


async def _check_category(session: AsyncSession, category_id: uuid.UUID | None) -> None:
    if category_id is not None and not await repo.category_exists(session, category_id):
        raise ValidationFailed(errors=[{"field": "category_id", "message": "no such category"}])


def _event_view(document: Mapping[str, Any], fields: set[str]) -> dict[str, Any]:
    return {name: document[name] for name in _EVENT_FIELDS if name in fields}


async def _announce(session: AsyncSession, document: dict[str, Any], fields: set[str]) -> None:
    await add_event(
        session,
        outbox,
        "product.updated",
        ProductUpdated(product_id=document["id"], changed=_event_view(document, fields)).data(),
        aggregate_id=document["id"],
    )
    mark_catalog_changed(session)


async def create(
    session: AsyncSession, body: ProductCreate, store_currency: str, actor_id: uuid.UUID
) -> dict[str, Any]:
    """Create a product with its stock row; returns its public document."""
    await _check_category(session, body.category_id)
    if body.slug is not None:
        slug = body.slug
    else:
        # Generated once from the name and kept when the name changes later.
        base = slugify(body.name, fallback="product")
        slug = with_suffix(base, await repo.taken_slugs(session, base))
    values = {
        "sku": body.sku,
        "slug": slug,
        "name": body.name,
        "description": body.description,
        **_price_values(body.price, store_currency),
        "category_id": body.category_id,
        "images": body.images,
        "attributes": body.attributes,
        "is_active": body.is_active,
    }
    try:
        async with session.begin_nested():
            row = await repo.insert_product(session, values)
    except IntegrityError as exc:
        raise _integrity_error(exc) from exc
    conn = await driver_connection(session)
    levels = await stock_service.initialize(conn, row["id"], body.stock or 0, actor_id)
    document = product_document(row)
    await _announce(session, document, set(_EVENT_FIELDS))
    return with_stock(document, *levels)


async def _locked(session: AsyncSession, id_or_slug: str) -> Any:
    if not findable(id_or_slug):
        raise ProductNotFound(f"No product {id_or_slug!r}")
    row = await repo.get_for_update(session, parse_uuid(id_or_slug), id_or_slug)
    if row is None:
        raise ProductNotFound(f"No product {id_or_slug}")
    return row


async def find_for_update(session: AsyncSession, id_or_slug: str) -> uuid.UUID:
    """The id of an existing product (locked for this transaction); 404 otherwise."""
    row = await _locked(session, id_or_slug)
    product_id: uuid.UUID = row["id"]
    return product_id


async def update(
    session: AsyncSession, product_id: uuid.UUID, body: ProductUpdate, store_currency: str
) -> dict[str, Any]:
    """Change the fields sent; returns the public document."""
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    for name in ("sku", "slug", "name", "description", "images", "attributes", "is_active"):
        if name in sent:
            values[name] = getattr(body, name)
    if "price" in sent and body.price is not None:
        values.update(_price_values(body.price, store_currency))
    if "category_id" in sent:
        await _check_category(session, body.category_id)
        values["category_id"] = body.category_id
    try:
        async with session.begin_nested():
            row = await repo.update_product(session, product_id, values)
    except IntegrityError as exc:
        raise _integrity_error(exc) from exc
    document = product_document(row)
    changed = {"price" if name in ("price_amount", "currency") else name for name in values}
    if changed:
        await _announce(session, document, changed)
    levels = await stock_repo.levels(await driver_connection(session), product_id) or (0, 0)
    return with_stock(document, *levels)


async def archive(session: AsyncSession, product_id: uuid.UUID) -> None:
    """Soft delete: the product leaves listings; orders keep their lines."""
    row = await repo.update_product(session, product_id, {"is_active": False})
    await _announce(session, product_document(row), {"is_active"})
