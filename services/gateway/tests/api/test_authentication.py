"""Bearer tokens verified at the gateway: bad tokens get 401 there and never reach a service."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from redis.asyncio import Redis

from empora_common.security import valid_after_key
from empora_common.testing.tokens import TestSigner

from ..standins import GatewayFactory, Upstreams


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(signer: TestSigner, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "email": "someone@example.com",
        "email_verified": True,
        "roles": ["admin"],
        "iss": signer.issuer,
        "aud": signer.audience,
        "iat": now,
        "exp": now + 900,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(signer: TestSigner) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": signer.kid}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(signer)).encode())}."


def _hs256_with_public_key(signer: TestSigner) -> str:
    pem = signer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": signer.kid}
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(signer)).encode())}"
    )
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _signed(signer: TestSigner, key: Any = None, kid: str | None = None, **claims: Any) -> str:
    return jwt.encode(
        _claims(signer, **claims),
        key or signer.key,
        algorithm="RS256",
        headers={"kid": kid or signer.kid},
    )


BAD_TOKENS = {
    "alg none": _unsigned,
    "HS256 signed with the public key": _hs256_with_public_key,
    "expired": lambda s: _signed(s, exp=int(time.time()) - 3600, iat=int(time.time()) - 4000),
    "wrong audience": lambda s: _signed(s, aud="someone-else"),
    "wrong issuer": lambda s: _signed(s, iss="https://evil.example"),
    "missing exp": lambda s: _signed(s, exp=None),
    "unknown kid": lambda s: _signed(
        s, key=rsa.generate_private_key(public_exponent=65537, key_size=2048), kid="nope"
    ),
    "known kid, other key": lambda s: _signed(
        s, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ),
    "refresh token as access token": lambda s: _signed(s, typ="refresh"),
    "garbage": lambda _s: "not-a-jwt",
}


class TestBearerVerification:
    async def test_a_valid_token_is_forwarded_with_the_request(
        self,
        http: aiohttp.ClientSession,
        gateway_url: str,
        upstreams: Upstreams,
        signer: TestSigner,
    ) -> None:
        token = signer.token()
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(2):  # the second time from the verified-token cache
            async with http.get(gateway_url + "/api/orders", headers=headers) as resp:
                assert resp.status == 200
        assert [h.headers["authorization"] for h in upstreams["order"].hits] == [
            f"Bearer {token}"
        ] * 2

    @pytest.mark.parametrize("case", sorted(BAD_TOKENS))
    async def test_a_bad_token_gets_401_at_the_gateway(
        self,
        http: aiohttp.ClientSession,
        gateway_url: str,
        upstreams: Upstreams,
        signer: TestSigner,
        case: str,
    ) -> None:
        token = BAD_TOKENS[case](signer)
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(gateway_url + "/api/orders", headers=headers) as resp:
            body = await resp.json(content_type=None)
        assert resp.status == 401
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert body["status"] == 401
        assert body["type"] == "https://empora.dev/problems/invalid-token"
        assert upstreams["order"].count() == 0

    @pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer", "Token abc"])
    async def test_a_malformed_authorization_header_gets_401(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams, value: str
    ) -> None:
        async with http.get(gateway_url + "/api/cart", headers={"Authorization": value}) as resp:
            assert resp.status == 401
        assert upstreams["cart"].count() == 0

    async def test_a_token_issued_before_the_users_valid_after_time_is_refused(
        self,
        http: aiohttp.ClientSession,
        make_gateway: GatewayFactory,
        upstreams: Upstreams,
        signer: TestSigner,
        redis: Redis,
    ) -> None:
        gateway, server = await make_gateway()
        user_id = uuid.uuid4()
        token = signer.token(user_id, iat=int(time.time()) - 60)
        key = valid_after_key(gateway.settings.redis_prefix, str(user_id))
        await redis.set(key, int(time.time()), ex=60)
        async with http.get(
            server.url + "/api/orders", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            assert resp.status == 401
        assert upstreams["order"].count() == 0

    async def test_requests_without_a_token_pass_to_the_service(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async with http.get(gateway_url + "/api/products") as resp:
            assert resp.status == 200
        assert "authorization" not in upstreams["product"].hits[0].headers

    async def test_verification_can_be_left_to_the_services(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(GATEWAY_VERIFY_TOKENS=False)
        headers = {"Authorization": "Bearer not-a-jwt"}
        async with http.get(server.url + "/api/orders", headers=headers) as resp:
            assert resp.status == 200
        assert upstreams["order"].hits[0].headers["authorization"] == "Bearer not-a-jwt"
