from __future__ import annotations

import pytest

from empora_auth.keys import material


class TestThumbprint:
    def test_matches_the_rfc_7638_example(self) -> None:
        jwk = {
            "kty": "RSA",
            "e": "AQAB",
            "n": (
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
                "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v"
                "-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08"
                "qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8"
                "awapJzKnqDKgw"
            ),
        }
        assert material.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


class TestPublicJwk:
    def test_has_no_private_members_and_names_its_use(self) -> None:
        jwk = material.public_jwk(material.generate_private_key())
        assert set(jwk) == {"kty", "n", "e", "kid", "use", "alg"}
        assert (jwk["use"], jwk["alg"]) == ("sig", "RS256")
        assert jwk["kid"] == material.thumbprint(jwk)


class TestLoadPrivateKey:
    def test_round_trips_through_pem(self) -> None:
        key = material.generate_private_key()
        loaded = material.load_private_key(material.private_key_to_pem(key))
        assert loaded.private_numbers() == key.private_numbers()

    def test_refuses_garbage(self) -> None:
        with pytest.raises(ValueError):
            material.load_private_key(
                "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"
            )
