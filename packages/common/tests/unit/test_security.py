"""TokenVerifier against real tokens: the JWT negatives of the auth issue."""

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from empora_common.security import InvalidToken, TokenVerifier
from empora_common.testing.tokens import TestSigner


@pytest.fixture(scope="module")
def signer() -> TestSigner:
    return TestSigner()


@pytest.fixture
def verifier(signer: TestSigner) -> TokenVerifier:
    v = TokenVerifier(jwks_url="http://127.0.0.1:9/none", issuer="empora-auth", audience="empora")
    v.load_jwks(signer.jwks())
    v._last_fetch = time.monotonic()  # no refetch for an unknown kid in these tests
    return v


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TestTokenVerifier:
    async def test_accepts_a_valid_token(self, signer: TestSigner, verifier: TokenVerifier) -> None:
        uid = uuid.uuid4()
        principal = await verifier.verify(signer.token(uid, roles=["admin"]))
        assert principal.user_id == uid and principal.is_admin

    async def test_rejects_alg_none(self, signer: TestSigner, verifier: TokenVerifier) -> None:
        claims = jwt.decode(signer.token(), options={"verify_signature": False})
        token = f"{_b64({'alg': 'none', 'kid': signer.kid})}.{_b64(claims)}."
        with pytest.raises(InvalidToken):
            await verifier.verify(token)

    async def test_rejects_hs256_signed_with_the_public_key(
        self, signer: TestSigner, verifier: TokenVerifier
    ) -> None:
        claims = jwt.decode(signer.token(), options={"verify_signature": False})
        pem = signer.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = _b64({"alg": "HS256", "typ": "JWT", "kid": signer.kid})
        body = _b64(claims)
        import hashlib
        import hmac

        sig = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
        token = f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
        with pytest.raises(InvalidToken):
            await verifier.verify(token)

    @pytest.mark.parametrize(
        "overrides",
        [
            {"exp": int(time.time()) - 60},
            {"aud": "someone-else"},
            {"iss": "evil"},
            {"typ": "refresh"},
        ],
    )
    async def test_rejects_bad_claims(
        self, signer: TestSigner, verifier: TokenVerifier, overrides: dict[str, object]
    ) -> None:
        with pytest.raises(InvalidToken):
            await verifier.verify(signer.token(**overrides))

    async def test_rejects_a_token_without_exp(
        self, signer: TestSigner, verifier: TokenVerifier
    ) -> None:
        claims = jwt.decode(signer.token(), options={"verify_signature": False})
        del claims["exp"]
        token = jwt.encode(claims, signer.key, algorithm="RS256", headers={"kid": signer.kid})
        with pytest.raises(InvalidToken):
            await verifier.verify(token)

    async def test_rejects_an_unknown_kid(self, verifier: TokenVerifier) -> None:
        other = TestSigner()
        with pytest.raises(InvalidToken):
            await verifier.verify(other.token())

    async def test_rejects_garbage(self, verifier: TokenVerifier) -> None:
        for garbage in ("x", "a.b.c", "", "Bearer"):
            with pytest.raises(InvalidToken):
                await verifier.verify(garbage)
