"""Request and response bodies of the products slice."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from empora_common.money import Money
from empora_common.text import CleanText
from empora_product.slugs import SLUG_PATTERN, looks_like_uuid

MAX_PRICE = 10**12


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError("must be an http(s) URL")
    return value


def _check_slug(value: str) -> str:
    if looks_like_uuid(value):
        raise ValueError("a slug may not look like an id")
    return value


def _stock_from_object(value: Any) -> Any:
    # ``"stock": 12`` or ``"stock": {"on_hand": 12}`` (the shape stock routes use).
    if isinstance(value, dict) and len(value) == 1:
        for key in ("on_hand", "quantity"):
            if key in value:
                return value[key]
    return value


def _money_from_int(value: Any) -> Any:
    # A bare integer is an amount in the store currency (filled in by the service).
    if isinstance(value, int) and not isinstance(value, bool):
        return {"amount": value, "currency": None}
    return value


Sku = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
]
Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=120, pattern=SLUG_PATTERN),
    AfterValidator(_check_slug),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    CleanText,
]
Description = Annotated[str, StringConstraints(max_length=10_000), CleanText]
ImageUrl = Annotated[str, StringConstraints(max_length=2048), CleanText, AfterValidator(_check_url)]
AttributeKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    CleanText,
]
AttributeValue = Annotated[str, StringConstraints(max_length=500), CleanText]


class PriceIn(BaseModel):
    """A price: Money, or a bare integer amount in the store currency."""

    model_config = ConfigDict(extra="forbid")

    # Strict: "2500" or 25.0 are refused rather than coerced (money is integer minor units).
    amount: int = Field(ge=0, le=MAX_PRICE, strict=True)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None


PriceField = Annotated[PriceIn, BeforeValidator(_money_from_int)]


class ProductCreate(BaseModel):
    """``POST /api/products``."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: Name
    slug: Slug | None = None
    description: Description = ""
    price: PriceField
    category_id: uuid.UUID | None = None
    images: list[ImageUrl] = Field(default_factory=list, max_length=20)
    attributes: dict[AttributeKey, AttributeValue] = Field(default_factory=dict, max_length=50)
    is_active: StrictBool = True
    # Initial ``on_hand`` (optional; the stock routes set it later too).
    stock: Annotated[int | None, BeforeValidator(_stock_from_object)] = Field(
        None, ge=0, le=1_000_000_000, strict=True
    )


class ProductUpdate(BaseModel):
    """``PATCH /api/products/{id}``: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku | None = None
    name: Name | None = None
    slug: Slug | None = None
    description: Description | None = None
    price: PriceField | None = None
    category_id: uuid.UUID | None = None
    images: list[ImageUrl] | None = Field(None, max_length=20)
    attributes: dict[AttributeKey, AttributeValue] | None = Field(None, max_length=50)
    is_active: StrictBool | None = None

    @field_validator(
        "sku", "name", "slug", "description", "price", "images", "attributes", "is_active"
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Only category_id may be cleared with null; the others must stay set.
        if value is None:
            raise ValueError("may not be null")
        return value


class StockOut(BaseModel):
    available: int
    in_stock: bool


class ProductOut(BaseModel):
    """A product as the public API shows it."""

    id: uuid.UUID
    sku: str
    slug: str
    name: str
    description: str
    price: Money
    category_id: uuid.UUID | None
    images: list[str]
    attributes: dict[str, str]
    stock: StockOut
    is_active: bool
    created_at: str
    updated_at: str


class LookupIn(BaseModel):
    """``POST /internal/products/lookup``."""

    ids: list[uuid.UUID] = Field(min_length=1, max_length=200)


class LookupProduct(BaseModel):
    id: uuid.UUID
    sku: str
    slug: str
    name: str
    price: Money
    is_active: bool
    on_hand: int
    reserved: int
    available: int


class LookupOut(BaseModel):
    products: list[LookupProduct]
