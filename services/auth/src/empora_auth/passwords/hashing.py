"""Argon2id hashing in a bounded thread pool, so logins never block the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from empora_auth.settings import AuthSettings

# A password nobody can type (it is longer than the maximum): hashed once at start-up so an
# unknown account costs one full verification, like a known one.
_DUMMY_PASSWORD = "empora-dummy-password-" + "x" * 200


def lower_thread_priority(nice: int) -> None:
    """Run the calling thread ``nice`` steps below its current CPU priority (Linux, where a
    thread has its own nice value; elsewhere nothing happens)."""
    if nice <= 0:
        return
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))


def normalize_password(password: str) -> str:
    """NFKC, as NIST SP 800-63B suggests, so one password has one encoding."""
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    """Argon2id with the configured cost; the CPU work runs on a fixed-size thread pool.

    argon2-cffi releases the GIL while hashing, so ``workers`` hashes run in parallel.
    """

    def __init__(
        self,
        *,
        memory_cost: int,
        time_cost: int,
        parallelism: int,
        workers: int,
        nice: int = 0,
    ) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self.workers = workers
        # The threads run below the event loops' priority: a login flood then takes only the
        # CPU nobody else wants, and the catalog and checkout stay responsive.
        self._pool = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="argon2",
            initializer=lower_thread_priority,
            initargs=(nice,),
        )
        self._dummy_hash = self._argon2.hash(_DUMMY_PASSWORD)

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> PasswordHasher:
        """A hasher with the settings' cost and worker count."""
        return cls(
            memory_cost=settings.argon2_memory_cost,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            workers=settings.argon2_workers,
            nice=settings.argon2_nice,
        )

    def hash_sync(self, password: str) -> str:
        """Hash in the calling thread (CLI and admin set-up)."""
        return self._argon2.hash(normalize_password(password))

    def verify_sync(self, password_hash: str, password: str) -> bool:
        """True when the password matches the hash; never raises for a mismatch."""
        try:
            return self._argon2.verify(password_hash, normalize_password(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        """The Argon2id hash of a password, computed on the pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hash_sync, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Verify on the pool; ``None`` (no such account) costs a dummy verification."""
        loop = asyncio.get_running_loop()
        if password_hash is None:
            await loop.run_in_executor(self._pool, self.verify_sync, self._dummy_hash, password)
            return False
        return await loop.run_in_executor(self._pool, self.verify_sync, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        """Stop the pool (waits for running hashes)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
