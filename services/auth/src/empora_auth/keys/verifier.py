"""The auth service verifies its own tokens with the shared verifier, fed by its key ring."""

from __future__ import annotations

import time
from dataclasses import dataclass

from empora_auth.keys.service import KeyRing
from empora_common.security import TokenVerifier


@dataclass
class KeyRingVerifier(TokenVerifier):
    """A TokenVerifier whose keys come from the local key ring, never over HTTP.

    An unknown ``kid`` re-reads the database keys (at most once per ``refresh_cooldown``), so
    a key rotated in by another process is picked up.
    """

    keyring: KeyRing | None = None

    async def _fetch(self) -> None:
        if self.keyring is None:
            return
        async with self._lock:
            if time.monotonic() - self._last_fetch < self.refresh_cooldown and self._keys:
                return
            self._last_fetch = time.monotonic()
            await self.keyring.reload()
            self.load_jwks(self.keyring.jwks())
