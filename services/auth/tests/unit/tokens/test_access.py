from __future__ import annotations

import uuid

import jwt

from empora_auth.keys.material import SigningKey, generate_private_key, public_jwk
from empora_auth.settings import AuthSettings
from empora_auth.tokens.access import access_claims, encode, session_id
from empora_auth.users.models import User

PRIVATE = generate_private_key()
JWK = public_jwk(PRIVATE)
KEY = SigningKey(JWK["kid"], PRIVATE, JWK, None, None, None)  # type: ignore[arg-type]
SETTINGS = AuthSettings(_env_file=None, argon2_workers=1)


def a_user() -> User:
    return User(
        id=uuid.uuid4(),
        email="jane@example.com",
        password_hash="x",
        roles=["customer"],
        email_verified=True,
        is_active=True,
        valid_after=0,
    )


class TestAccessClaims:
    def test_carries_the_contract_claims_and_a_15_minute_lifetime(self) -> None:
        user = a_user()
        claims = access_claims(user, settings=SETTINGS, issued_at=1000, family_id=uuid.uuid4())
        assert claims["sub"] == str(user.id)
        assert (claims["email"], claims["email_verified"], claims["roles"]) == (
            "jane@example.com",
            True,
            ["customer"],
        )
        assert (claims["iss"], claims["aud"]) == ("empora-auth", "empora")
        assert claims["exp"] - claims["iat"] == 900
        assert len(claims["jti"]) >= 32

    def test_gives_every_token_its_own_id(self) -> None:
        user, family = a_user(), uuid.uuid4()
        first = access_claims(user, settings=SETTINGS, issued_at=1, family_id=family)
        second = access_claims(user, settings=SETTINGS, issued_at=1, family_id=family)
        assert first["jti"] != second["jti"]


class TestEncode:
    def test_signs_rs256_with_the_kid_in_the_header(self) -> None:
        family = uuid.uuid4()
        token = encode({"sub": "x", "sid": str(family)}, KEY)
        header = jwt.get_unverified_header(token)
        assert (header["alg"], header["kid"]) == ("RS256", KEY.kid)
        assert jwt.decode(token, PRIVATE.public_key(), algorithms=["RS256"])["sub"] == "x"
        assert session_id(token) == family

    def test_session_id_is_none_for_a_token_without_one(self) -> None:
        assert session_id(encode({"sub": "x"}, KEY)) is None
