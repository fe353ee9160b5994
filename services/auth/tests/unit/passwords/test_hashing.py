from __future__ import annotations

import asyncio
import os
import threading

import pytest

from empora_auth.passwords.hashing import PasswordHasher
from empora_auth.settings import AuthSettings


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    h = PasswordHasher(memory_cost=1024, time_cost=1, parallelism=1, workers=2)
    yield h
    h.close()


class TestDefaults:
    def test_default_settings_are_owasp_argon2id(self) -> None:
        settings = AuthSettings(_env_file=None)
        assert (settings.argon2_memory_cost, settings.argon2_time_cost) == (19_456, 2)
        assert settings.argon2_parallelism == 1

    def test_default_hasher_writes_owasp_parameters(self) -> None:
        h = PasswordHasher.from_settings(AuthSettings(_env_file=None, argon2_workers=1))
        try:
            assert h.hash_sync("violet harbor lantern").startswith(
                "$argon2id$v=19$m=19456,t=2,p=1$"
            )
        finally:
            h.close()


class TestVerify:
    async def test_accepts_the_right_password(self, hasher: PasswordHasher) -> None:
        stored = await hasher.hash("violet harbor lantern")
        assert await hasher.verify(stored, "violet harbor lantern") is True

    async def test_refuses_a_wrong_password(self, hasher: PasswordHasher) -> None:
        stored = await hasher.hash("violet harbor lantern")
        assert await hasher.verify(stored, "violet harbor lanterns") is False

    async def test_unknown_account_costs_a_dummy_verification_and_fails(
        self, hasher: PasswordHasher
    ) -> None:
        assert await hasher.verify(None, "anything at all") is False

    async def test_a_corrupt_hash_fails_instead_of_raising(self, hasher: PasswordHasher) -> None:
        assert await hasher.verify("not-a-hash", "violet harbor lantern") is False

    async def test_equivalent_unicode_forms_match(self, hasher: PasswordHasher) -> None:
        stored = await hasher.hash("caf\u00e9 harbor lantern")  # precomposed é
        assert await hasher.verify(stored, "cafe\u0301 harbor lantern")  # e + combining accent

    async def test_hashes_concurrent_passwords_independently(self, hasher: PasswordHasher) -> None:
        results = await asyncio.gather(*(hasher.hash(f"password-{i}-xyz") for i in range(6)))
        assert len(set(results)) == 6
        assert all([await hasher.verify(h, f"password-{i}-xyz") for i, h in enumerate(results)])

    async def test_leaves_the_event_loop_free_while_hashing(self) -> None:
        owasp = PasswordHasher(memory_cost=19_456, time_cost=2, parallelism=1, workers=1)
        ticks, hashing = 0, True

        async def ticker() -> None:
            nonlocal ticks
            while hashing:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        try:
            await owasp.hash("violet harbor lantern")
        finally:
            hashing = False
            await task
            owasp.close()
        # Had the hash run on the loop's thread, the ticker could not have run meanwhile.
        assert ticks > 10


class TestNeedsRehash:
    def test_true_for_a_hash_with_other_parameters(self, hasher: PasswordHasher) -> None:
        other = PasswordHasher(memory_cost=2048, time_cost=1, parallelism=1, workers=1)
        try:
            assert hasher.needs_rehash(other.hash_sync("violet harbor lantern"))
        finally:
            other.close()

    def test_false_for_a_current_hash(self, hasher: PasswordHasher) -> None:
        assert not hasher.needs_rehash(hasher.hash_sync("violet harbor lantern"))


class TestWorkerPriority:
    def test_hashing_threads_run_below_the_process_priority(self) -> None:
        def own_nice() -> int:
            return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

        base = os.getpriority(os.PRIO_PROCESS, 0)
        hasher = PasswordHasher(memory_cost=1024, time_cost=1, parallelism=1, workers=1, nice=5)
        plain = PasswordHasher(memory_cost=1024, time_cost=1, parallelism=1, workers=1)
        try:
            assert hasher._pool.submit(own_nice).result(5) == min(19, base + 5)
            assert plain._pool.submit(own_nice).result(5) == base
            assert own_nice() == base  # the caller's thread is untouched
        finally:
            hasher.close()
            plain.close()
