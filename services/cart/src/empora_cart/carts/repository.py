"""All of the cart's Redis access: reads, and the atomic Lua writes of ``scripts``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from empora_cart.carts import scripts
from empora_cart.carts.errors import CartStoreUnavailable
from empora_cart.carts.keys import CartRef, Keys

log = structlog.get_logger("empora.cart.store")


@contextmanager
def _store_errors() -> Iterator[None]:
    """Redis is the cart's primary store: without it a request is a 503, never a 500."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        log.warning("cart_store_unavailable", error=type(exc).__name__)
        raise CartStoreUnavailable() from exc


@dataclass(frozen=True)
class Line:
    """A cart line as stored: a product and its quantity (prices come from the catalog)."""

    product_id: uuid.UUID
    quantity: int
    position: int = 0


@dataclass(frozen=True)
class CartState:
    """A stored cart."""

    id: uuid.UUID
    version: int
    lines: tuple[Line, ...]
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def product_ids(self) -> set[uuid.UUID]:
        return {line.product_id for line in self.lines}

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


class Outcome(StrEnum):
    OK = "ok"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    NOT_IN_CART = "not_in_cart"
    LINE_LIMIT = "line_limit"
    OUT_OF_STOCK = "out_of_stock"
    TOO_MANY_LINES = "too_many_lines"
    QUOTA_EXCEEDED = "quota_exceeded"
    RETRY = "retry"


@dataclass(frozen=True)
class WriteResult:
    """What a script did: its outcome, the cart afterwards (None: no cart) and numbers."""

    outcome: Outcome
    state: CartState | None = None
    values: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class GuestQuota:
    """The cap on new guest carts for one client address."""

    key: str
    limit: int
    window_seconds: int


def parse_cart(raw: Sequence[Any] | Mapping[Any, Any]) -> CartState | None:
    """A CartState from HGETALL (a flat list from Lua, a dict from redis-py); None if empty."""
    if isinstance(raw, Mapping):
        fields = {str(k): str(v) for k, v in raw.items()}
    else:
        items = [str(v) for v in raw]
        fields = dict(zip(items[0::2], items[1::2], strict=True))
    if "id" not in fields:
        return None
    lines: list[Line] = []
    for name, value in fields.items():
        if name.startswith("l:"):
            pid = name[2:]
            position = int(fields.get("a:" + pid, "0"))
            lines.append(Line(uuid.UUID(pid), int(value), position))
    lines.sort(key=lambda line: (line.position, str(line.product_id)))
    return CartState(
        id=uuid.UUID(fields["id"]),
        version=int(fields.get("version", "0")),
        lines=tuple(lines),
        created_at=_parse_time(fields.get("created_at")),
        updated_at=_parse_time(fields.get("updated_at")),
    )


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _result(reply: Sequence[Any]) -> WriteResult:
    outcome = Outcome(str(reply[0]))
    rest = reply[1:]
    if outcome in (Outcome.OK, Outcome.UNCHANGED, Outcome.DUPLICATE):
        return WriteResult(outcome, parse_cart(rest[0]))
    return WriteResult(outcome, values=tuple(int(v) for v in rest))


class CartStore:
    """Carts in Redis. Every read-modify-write is one Lua script, so it is atomic."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._write_line = redis.register_script(scripts.WRITE_LINE)
        self._clear = redis.register_script(scripts.CLEAR)
        self._subtract = redis.register_script(scripts.SUBTRACT)
        self._merge = redis.register_script(scripts.MERGE)
        self._read_for_order = redis.register_script(scripts.READ_FOR_ORDER)

    async def _run(self, script: AsyncScript, *, keys: list[str], args: Sequence[str | int]) -> Any:
        with _store_errors():
            return await script(keys=keys, args=list(args))

    async def read(self, ref: CartRef) -> CartState | None:
        """The cart, or None when there is none."""
        with _store_errors():
            raw = await self.redis.hgetall(ref.key)
        return parse_cart(raw)

    async def version_floor(self, ref: CartRef) -> int:
        """The version an absent cart reads as (0 unless an order saw an earlier cart)."""
        with _store_errors():
            raw = await self.redis.get(ref.floor_key)
        return int(raw) if raw else 0

    async def write_line(
        self,
        ref: CartRef,
        product_id: uuid.UUID,
        quantity: int,
        *,
        add: bool,
        available: int,
        max_quantity: int,
        max_lines: int,
        quota: GuestQuota | None = None,
    ) -> WriteResult:
        """Add to a line (``add``) or set it (0 removes it), with every limit checked inside."""
        quota_key = quota.key if quota is not None else ref.key + ":no-quota"
        reply = await self._run(
            self._write_line,
            keys=[ref.key, ref.floor_key, quota_key],
            args=[
                str(product_id),
                quantity,
                "add" if add else "set",
                available,
                max_quantity,
                max_lines,
                ref.ttl_seconds,
                str(ref.new_id),
                _now(),
                quota.limit if quota is not None else 0,
                quota.window_seconds if quota is not None else 1,
            ],
        )
        return _result(reply)

    async def clear(self, ref: CartRef) -> WriteResult:
        """Remove every line (the cart and its version stay)."""
        reply = await self._run(self._clear, keys=[ref.key], args=[_now(), ref.ttl_seconds])
        return _result(reply)

    async def subtract(
        self,
        ref: CartRef,
        order_id: uuid.UUID,
        lines: Sequence[tuple[uuid.UUID, int]],
        *,
        marker_ttl_seconds: int,
    ) -> WriteResult:
        """Take an order's quantities off the cart, once per order."""
        args: list[str | int] = [marker_ttl_seconds, _now(), ref.ttl_seconds]
        for product_id, quantity in lines:
            args += [str(product_id), quantity]
        keys = [ref.key, self.keys.order_marker(order_id)]
        reply = await self._run(self._subtract, keys=keys, args=args)
        return _result(reply)

    async def merge(
        self,
        user: CartRef,
        guest: CartRef,
        available: Mapping[uuid.UUID, int],
        *,
        max_quantity: int,
        max_lines: int,
    ) -> WriteResult:
        """Move a guest cart's lines into a user's cart and delete the guest cart."""
        args: list[str | int] = [
            user.ttl_seconds,
            str(user.new_id),
            _now(),
            max_quantity,
            max_lines,
        ]
        for product_id, units in available.items():
            args += [str(product_id), max(0, units)]
        keys = [user.key, guest.key, user.floor_key]
        reply = await self._run(self._merge, keys=keys, args=args)
        return _result(reply)

    async def read_for_order(self, ref: CartRef) -> tuple[int, CartState | None]:
        """The cart and its version for the order service (recording the version as seen)."""
        version, raw = await self._run(self._read_for_order, keys=[ref.key, ref.floor_key], args=[])
        return int(version), parse_cart(raw)
