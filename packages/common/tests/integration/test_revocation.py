"""The per-user "valid after" time in Redis voids older access tokens."""

import time
import uuid

import pytest
from redis.asyncio import Redis

from empora_common.security import InvalidToken, TokenVerifier, valid_after_key
from empora_common.testing.infra import TestInfra
from empora_common.testing.tokens import TestSigner


class TestRevocation:
    async def test_tokens_issued_before_valid_after_are_rejected(
        self, infra: TestInfra, prefix: str
    ) -> None:
        signer = TestSigner()
        redis = Redis.from_url(infra.redis_url, decode_responses=True)
        verifier = TokenVerifier(
            jwks_url="http://127.0.0.1:9/none",
            issuer="empora-auth",
            audience="empora",
            redis=redis,
            redis_prefix=prefix,
            revocation_ttl=0.0,
        )
        verifier.load_jwks(signer.jwks())
        uid = uuid.uuid4()
        old = signer.token(uid, iat=int(time.time()) - 30)
        assert (await verifier.verify(old)).user_id == uid
        try:
            await redis.set(valid_after_key(prefix, str(uid)), int(time.time()) - 5, ex=60)
            with pytest.raises(InvalidToken):
                await verifier.verify(old)
            fresh = signer.token(uid)
            assert (await verifier.verify(fresh)).user_id == uid
        finally:
            await redis.delete(valid_after_key(prefix, str(uid)))
            await redis.aclose()
