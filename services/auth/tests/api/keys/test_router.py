from __future__ import annotations

from collections.abc import Callable

import aiohttp
import jwt

from empora_auth.app import create_app
from empora_auth.keys.material import generate_private_key, private_key_to_pem, public_jwk
from empora_auth.settings import AuthSettings

from ...support import Account, Api, serving


class TestJwks:
    async def test_publishes_the_current_and_next_public_keys(
        self, api: Api, user: Account
    ) -> None:
        reply = await api.call("GET", "/api/auth/.well-known/jwks.json")
        assert reply.status == 200
        keys = reply.body["keys"]
        assert len(keys) >= 2
        assert all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig" for k in keys)
        assert all(not {"d", "p", "q"} & set(k) for k in keys)
        kid = jwt.get_unverified_header(user.access_token)["kid"]
        assert keys[0]["kid"] == kid
        public = jwt.PyJWK(keys[0]).key
        claims = jwt.decode(user.access_token, public, algorithms=["RS256"], audience="empora")
        assert claims["sub"] == user.id

    async def test_needs_no_token(self, api: Api) -> None:
        reply = await api.call(
            "GET", "/api/auth/.well-known/jwks.json", headers={"Authorization": "Bearer junk"}
        )
        assert reply.status == 200

    async def test_serves_the_configured_key_when_one_is_set(
        self, make_settings: Callable[..., AuthSettings], http: aiohttp.ClientSession
    ) -> None:
        private = generate_private_key()
        settings = make_settings(JWT_PRIVATE_KEY=private_key_to_pem(private))
        async with serving(create_app(settings)) as server:
            api = Api(server.url, http)
            account = await api.new_user()
            reply = await api.call("GET", "/api/auth/.well-known/jwks.json")
            me = await api.call("GET", "/api/auth/me", token=account.access_token)
        kid = public_jwk(private)["kid"]
        assert [k["kid"] for k in reply.body["keys"]] == [kid]
        assert jwt.get_unverified_header(account.access_token)["kid"] == kid
        assert me.status == 200
