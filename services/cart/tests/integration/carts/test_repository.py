"""The Lua scripts against the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from empora_cart.carts.keys import CartRef, Keys, guest_ref, new_cart_token, user_ref
from empora_cart.carts.repository import CartStore, GuestQuota, Outcome

DAY = 24 * 3600


@pytest.fixture
async def store(redis: Redis, prefix: str) -> AsyncIterator[CartStore]:
    yield CartStore(redis, Keys(prefix + "store."))


def a_user(store: CartStore) -> CartRef:
    return user_ref(store.keys, uuid.uuid4(), 30 * DAY)


def a_guest(store: CartStore) -> CartRef:
    return guest_ref(store.keys, new_cart_token(), 7 * DAY)


async def put(store: CartStore, ref: CartRef, pid: uuid.UUID, qty: int, **kw: int) -> Outcome:
    limits = {"available": 1000, "max_quantity": 99, "max_lines": 100, **kw}
    result = await store.write_line(ref, pid, qty, add=True, **limits)
    return result.outcome


class TestWriteLine:
    async def test_concurrent_adds_of_many_products_all_land(self, store: CartStore) -> None:
        ref = a_user(store)
        pids = [uuid.uuid4() for _ in range(20)]

        await asyncio.gather(*(put(store, ref, pid, 2) for pid in pids for _ in range(3)))

        state = await store.read(ref)
        assert state is not None
        assert {line.product_id: line.quantity for line in state.lines} == dict.fromkeys(pids, 6)
        assert state.version == 60

    async def test_the_line_cap_holds_under_concurrency(self, store: CartStore) -> None:
        ref = a_user(store)

        outcomes = await asyncio.gather(
            *(put(store, ref, uuid.uuid4(), 1, max_lines=10) for _ in range(30))
        )

        state = await store.read(ref)
        assert state is not None and len(state.lines) == 10
        assert outcomes.count(Outcome.TOO_MANY_LINES) == 20

    async def test_stock_is_checked_inside_the_script(self, store: CartStore) -> None:
        ref, pid = a_user(store), uuid.uuid4()

        outcomes = await asyncio.gather(*(put(store, ref, pid, 1, available=5) for _ in range(8)))

        assert outcomes.count(Outcome.OK) == 5
        state = await store.read(ref)
        assert state is not None and state.lines[0].quantity == 5

    async def test_the_guest_quota_counts_new_carts_only_and_expires(
        self, store: CartStore, redis: Redis
    ) -> None:
        quota = GuestQuota(key=store.keys.guest_quota("203.0.113.1"), limit=2, window_seconds=60)
        first, pid = a_guest(store), uuid.uuid4()
        limits = {"available": 10, "max_quantity": 99, "max_lines": 100}

        outcomes = [
            (await store.write_line(first, pid, 1, add=True, quota=quota, **limits)).outcome,
            (await store.write_line(first, pid, 1, add=True, quota=quota, **limits)).outcome,
            (
                await store.write_line(a_guest(store), pid, 1, add=True, quota=quota, **limits)
            ).outcome,
        ]
        refused = await store.write_line(a_guest(store), pid, 1, add=True, quota=quota, **limits)

        assert outcomes == [Outcome.OK, Outcome.OK, Outcome.OK]
        assert refused.outcome is Outcome.QUOTA_EXCEEDED
        assert 0 < refused.values[0] <= 60
        assert 0 < await redis.ttl(quota.key) <= 60


class TestClear:
    async def test_clearing_an_empty_cart_changes_nothing(self, store: CartStore) -> None:
        ref, pid = a_user(store), uuid.uuid4()
        await put(store, ref, pid, 1)
        cleared = await store.clear(ref)

        again = await store.clear(ref)

        assert cleared.outcome is Outcome.OK
        assert again.outcome is Outcome.UNCHANGED
        assert again.state is not None and cleared.state is not None
        assert again.state.version == cleared.state.version


class TestMerge:
    async def test_asks_to_retry_when_the_guest_cart_holds_an_unpriced_line(
        self, store: CartStore
    ) -> None:
        user, guest = a_user(store), a_guest(store)
        priced, unpriced = uuid.uuid4(), uuid.uuid4()
        await put(store, guest, priced, 1)
        await put(store, guest, unpriced, 1)

        result = await store.merge(user, guest, {priced: 5}, max_quantity=99, max_lines=100)

        assert result.outcome is Outcome.RETRY
        assert await store.read(guest) is not None
        assert await store.read(user) is None

    async def test_keeps_the_oldest_guest_lines_when_the_line_cap_is_reached(
        self, store: CartStore
    ) -> None:
        user, guest = a_user(store), a_guest(store)
        await put(store, user, uuid.uuid4(), 1)
        guest_pids = [uuid.uuid4() for _ in range(4)]
        for pid in guest_pids:
            await put(store, guest, pid, 1)

        result = await store.merge(
            user, guest, dict.fromkeys(guest_pids, 10), max_quantity=99, max_lines=3
        )

        assert result.state is not None
        assert [line.product_id for line in result.state.lines][1:] == guest_pids[:2]
        assert await store.read(guest) is None

    async def test_never_lowers_what_the_user_had(self, store: CartStore) -> None:
        user, guest, pid = a_user(store), a_guest(store), uuid.uuid4()
        await put(store, user, pid, 8)
        await put(store, guest, pid, 3)

        result = await store.merge(user, guest, {pid: 2}, max_quantity=99, max_lines=100)

        assert result.outcome is Outcome.UNCHANGED
        assert result.state is not None and result.state.lines[0].quantity == 8
        assert await store.read(guest) is None

    async def test_creates_the_user_cart_with_the_stable_id_and_ttl(
        self, store: CartStore, redis: Redis
    ) -> None:
        user, guest, pid = a_user(store), a_guest(store), uuid.uuid4()
        await put(store, guest, pid, 3)

        result = await store.merge(user, guest, {pid: 10}, max_quantity=99, max_lines=100)

        assert result.state is not None and result.state.id == user.new_id
        assert await redis.ttl(user.key) > 30 * DAY - 60


class TestReadForOrder:
    async def test_records_the_version_as_the_floor_for_a_new_cart(
        self, store: CartStore, redis: Redis
    ) -> None:
        ref, pid = a_user(store), uuid.uuid4()
        for _ in range(4):
            await put(store, ref, pid, 1)

        version, state = await store.read_for_order(ref)
        await redis.delete(ref.key)
        await put(store, ref, pid, 1)

        assert version == 4
        assert state is not None and state.lines[0].quantity == 4
        recreated = await store.read(ref)
        assert recreated is not None and recreated.version == 5
