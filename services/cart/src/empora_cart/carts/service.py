"""Cart rules: limits, stock, guest carts and their cap, merging, and pricing every view."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence

from empora_cart.carts.catalog import Catalog, CatalogProduct, Products
from empora_cart.carts.errors import (
    CartItemNotFound,
    GuestCartLimit,
    InsufficientStock,
    LineQuantityLimit,
    MergeContended,
    ProductNotFound,
    TooManyLines,
)
from empora_cart.carts.keys import (
    NO_CART_ID,
    CartRef,
    Keys,
    guest_ref,
    new_cart_token,
    user_ref,
    well_formed_token,
)
from empora_cart.carts.repository import CartState, CartStore, GuestQuota, Outcome, WriteResult
from empora_cart.carts.schemas import CartItemOut, CartOut, InternalCartOut, InternalLineOut
from empora_cart.settings import CartSettings
from empora_common.money import Money

# A guest cart may gain a line between our read and the merge script; try again this often.
MERGE_ATTEMPTS = 3
UNAVAILABLE_NAME = "Unavailable product"


def render_cart(
    state: CartState | None,
    products: Products,
    *,
    cart_id: uuid.UUID,
    currency: str,
    token: str | None = None,
    absent_version: int = 0,
) -> CartOut:
    """A cart priced with the catalog's current data; inactive or unknown lines are left out
    of the subtotal and flagged ``purchasable: false``."""
    if state is None:
        return CartOut(
            id=cart_id,
            items=[],
            subtotal=Money(amount=0, currency=currency),
            item_count=0,
            version=absent_version,
            updated_at=None,
        )
    items: list[CartItemOut] = []
    subtotal = 0
    for line in state.lines:
        product = products.get(line.product_id)
        if product is None:
            price = Money(amount=0, currency=currency)
            items.append(
                CartItemOut(
                    product_id=line.product_id,
                    sku="",
                    name=UNAVAILABLE_NAME,
                    unit_price=price,
                    quantity=line.quantity,
                    line_total=price,
                    available=0,
                    purchasable=False,
                )
            )
            continue
        line_total = product.price.times(line.quantity)
        if product.is_active:
            subtotal += line_total.amount
        items.append(
            CartItemOut(
                product_id=line.product_id,
                sku=product.sku,
                name=product.name,
                unit_price=product.price,
                quantity=line.quantity,
                line_total=line_total,
                available=max(0, product.available) if product.is_active else 0,
                purchasable=product.is_active,
            )
        )
    return CartOut(
        id=state.id,
        cart_token=token,
        items=items,
        subtotal=Money(amount=subtotal, currency=currency),
        item_count=state.item_count,
        version=state.version,
        updated_at=state.updated_at,
    )


def quota_subject(client_ip: str) -> str:
    """Whom the guest-cart cap counts: an IPv4 address, or an IPv6 /64 (one subscriber's)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class CartService:
    """The cart's use cases; routes and consumers call these."""

    def __init__(self, store: CartStore, catalog: Catalog, settings: CartSettings) -> None:
        self.store = store
        self.catalog = catalog
        self.settings = settings
        self.keys: Keys = store.keys

    # --- which cart ---------------------------------------------------------------------
    def for_user(self, user_id: uuid.UUID) -> CartRef:
        """A signed-in user's cart."""
        return user_ref(self.keys, user_id, self.settings.user_cart_ttl_seconds)

    def for_guest(self, token: str) -> CartRef | None:
        """The guest cart a token names; None for a token that cannot be one of ours."""
        if not well_formed_token(token):
            return None
        return guest_ref(self.keys, token, self.settings.guest_cart_ttl_seconds)

    def _new_guest(self) -> CartRef:
        return guest_ref(self.keys, new_cart_token(), self.settings.guest_cart_ttl_seconds)

    # --- reads --------------------------------------------------------------------------
    async def view(self, ref: CartRef | None) -> CartOut:
        """The cart priced now; an absent cart reads as an empty one (and is not created)."""
        if ref is None:
            return await self._render(None, None, {})
        state = await self.store.read(ref)
        return await self._render(ref, state, {})

    # --- writes -------------------------------------------------------------------------
    async def add_item(
        self, ref: CartRef | None, product_id: uuid.UUID, quantity: int, *, client_ip: str
    ) -> CartOut:
        """Add units to a line (creating the cart, and for a guest its token, if needed)."""
        state = await self.store.read(ref) if ref is not None else None
        if ref is None or (ref.is_guest and state is None):
            # An unknown or expired guest token never names a new cart: the client could
            # otherwise choose its own token.
            ref = self._new_guest()
        ids = {product_id} | (state.product_ids if state is not None else set())
        products = await self.catalog.lookup(ids)
        product = products.get(product_id)
        if product is None or not product.is_active:
            raise ProductNotFound(product_id)
        quota = None
        if ref.is_guest and self.settings.guest_carts_per_ip > 0:
            quota = GuestQuota(
                key=self.keys.guest_quota(quota_subject(client_ip)),
                limit=self.settings.guest_carts_per_ip,
                window_seconds=self.settings.guest_cart_window_seconds,
            )
        result = await self.store.write_line(
            ref,
            product_id,
            quantity,
            add=True,
            available=product.available,
            max_quantity=self.settings.max_line_quantity,
            max_lines=self.settings.max_lines,
            quota=quota,
        )
        self._check(result, product_id)
        return await self._render(ref, result.state, products)

    async def require_line(self, ref: CartRef | None, product_id: uuid.UUID) -> CartState:
        """The cart, which has a line of this product (else 404)."""
        state = await self.store.read(ref) if ref is not None else None
        if state is None or _quantity_of(state, product_id) == 0:
            raise CartItemNotFound(product_id)
        return state

    async def set_quantity(
        self,
        ref: CartRef | None,
        product_id: uuid.UUID,
        quantity: int,
        state: CartState | None = None,
    ) -> CartOut:
        """Set a line's quantity; 0 removes it. Raising it needs the stock; lowering never.
        ``state``: the cart as just read (``require_line``), else it is read here."""
        if quantity == 0:
            return await self.remove_item(ref, product_id)
        if state is None and ref is not None:
            state = await self.store.read(ref)
        current = _quantity_of(state, product_id)
        if ref is None or state is None or current == 0:
            raise CartItemNotFound(product_id)
        products = await self.catalog.lookup(state.product_ids | {product_id})
        product = products.get(product_id)
        if quantity > current and (product is None or not product.is_active):
            raise ProductNotFound(product_id)
        result = await self.store.write_line(
            ref,
            product_id,
            quantity,
            add=False,
            available=_buyable_units(product),
            max_quantity=self.settings.max_line_quantity,
            max_lines=self.settings.max_lines,
        )
        self._check(result, product_id)
        return await self._render(ref, result.state, products)

    async def remove_item(self, ref: CartRef | None, product_id: uuid.UUID) -> CartOut:
        """Remove a line (removing an absent line changes nothing)."""
        if ref is None:
            return await self._render(None, None, {})
        result = await self.store.write_line(
            ref,
            product_id,
            0,
            add=False,
            available=0,
            max_quantity=self.settings.max_line_quantity,
            max_lines=self.settings.max_lines,
        )
        self._check(result, product_id)
        return await self._render(ref, result.state, {})

    async def clear(self, ref: CartRef | None) -> CartOut:
        """Empty the cart; it keeps its id and its version goes on counting."""
        if ref is None:
            return await self._render(None, None, {})
        result = await self.store.clear(ref)
        return await self._render(ref, result.state, {})

    async def merge(self, user: CartRef, token: str | None) -> CartOut:
        """Merge a guest cart into the user's: quantities add, capped by stock and the line
        limit; the guest cart is deleted. An unknown or merged token changes nothing."""
        guest = self.for_guest(token) if token else None
        if guest is None:
            return await self.view(user)
        for _ in range(MERGE_ATTEMPTS):
            guest_state = await self.store.read(guest)
            if guest_state is None:
                return await self.view(user)
            user_state = await self.store.read(user)
            ids = guest_state.product_ids | (user_state.product_ids if user_state else set())
            products = await self.catalog.lookup(ids)
            available = {pid: _buyable_units(products.get(pid)) for pid in guest_state.product_ids}
            result = await self.store.merge(
                user,
                guest,
                available,
                max_quantity=self.settings.max_line_quantity,
                max_lines=self.settings.max_lines,
            )
            if result.outcome is not Outcome.RETRY:
                return await self._render(user, result.state, products)
        raise MergeContended()

    # --- the order service --------------------------------------------------------------
    async def read_for_order(self, user_id: uuid.UUID) -> InternalCartOut:
        """A user's lines and version, as the order service guards checkout with them."""
        ref = self.for_user(user_id)
        version, state = await self.store.read_for_order(ref)
        return _internal_view(ref, user_id, version, state)

    async def subtract_order(
        self,
        user_id: uuid.UUID,
        order_id: uuid.UUID,
        lines: Sequence[tuple[uuid.UUID, int]],
    ) -> InternalCartOut:
        """Take what an order bought off the user's cart, once per order; lines added or
        raised since stay."""
        ref = self.for_user(user_id)
        result = await self.store.subtract(
            ref, order_id, lines, marker_ttl_seconds=self.settings.order_marker_ttl_seconds
        )
        state = result.state
        version = state.version if state is not None else await self.store.version_floor(ref)
        return _internal_view(ref, user_id, version, state)

    # --- helpers ------------------------------------------------------------------------
    def _check(self, result: WriteResult, product_id: uuid.UUID) -> None:
        match result.outcome:
            case Outcome.OK | Outcome.UNCHANGED:
                return
            case Outcome.NOT_IN_CART:
                raise CartItemNotFound(product_id)
            case Outcome.LINE_LIMIT:
                raise LineQuantityLimit(self.settings.max_line_quantity, result.values[0])
            case Outcome.OUT_OF_STOCK:
                available, requested = result.values
                raise InsufficientStock(product_id, requested, max(0, available))
            case Outcome.TOO_MANY_LINES:
                raise TooManyLines(self.settings.max_lines)
            case Outcome.QUOTA_EXCEEDED:
                retry_after = result.values[0] if result.values else 0
                raise GuestCartLimit(
                    retry_after if retry_after > 0 else self.settings.guest_cart_window_seconds
                )
            case _:
                raise RuntimeError(f"unexpected cart script outcome {result.outcome}")

    async def _render(
        self,
        ref: CartRef | None,
        state: CartState | None,
        products: Products,
    ) -> CartOut:
        """Price the cart; one catalog lookup covers the lines ``products`` did not ask about."""
        currency = self.settings.store_currency
        if state is None:
            if ref is None or ref.is_guest:
                return render_cart(None, {}, cart_id=NO_CART_ID, currency=currency)
            floor = await self.store.version_floor(ref)
            return render_cart(
                None, {}, cart_id=ref.new_id, currency=currency, absent_version=floor
            )
        missing = state.product_ids - products.keys()
        if missing:
            products = {**products, **await self.catalog.lookup(missing)}
        return render_cart(
            state,
            products,
            cart_id=state.id,
            currency=currency,
            token=ref.token if ref is not None else None,
        )


def _quantity_of(state: CartState | None, product_id: uuid.UUID) -> int:
    if state is None:
        return 0
    return next((line.quantity for line in state.lines if line.product_id == product_id), 0)


def _buyable_units(product: CatalogProduct | None) -> int:
    if product is None or not product.is_active:
        return 0
    return max(0, product.available)


def _internal_view(
    ref: CartRef, user_id: uuid.UUID, version: int, state: CartState | None
) -> InternalCartOut:
    return InternalCartOut(
        id=state.id if state is not None else ref.new_id,
        user_id=user_id,
        version=version,
        items=[
            InternalLineOut(product_id=line.product_id, quantity=line.quantity)
            for line in (state.lines if state is not None else ())
        ],
        updated_at=state.updated_at if state is not None else None,
    )
