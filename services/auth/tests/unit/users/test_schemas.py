from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from empora_auth.users.schemas import (
    AdminUserPatch,
    Email,
    ProfilePatch,
    RegisterIn,
    canonical_email,
)

EMAIL = TypeAdapter(Email)


class TestEmail:
    @pytest.mark.parametrize(
        "raw,stored",
        [
            ("  Jane.Doe+shop@Example.COM ", "jane.doe+shop@example.com"),
            ("admin@empora.local", "admin@empora.local"),
            ("dev@example.test", "dev@example.test"),
            ("kim@bücher.de", "kim@xn--bcher-kva.de"),
        ],
    )
    def test_normalises_valid_addresses(self, raw: str, stored: str) -> None:
        assert EMAIL.validate_python(raw) == stored

    @pytest.mark.parametrize(
        "raw",
        [
            "nope",
            "@example.com",
            "a b@example.com",
            "a..b@example.com",
            "a@-x.com",
            "a@x..com",
            "x" * 65 + "@example.com",
            "a@" + "b" * 250 + ".com",
        ],
    )
    def test_refuses_malformed_addresses(self, raw: str) -> None:
        with pytest.raises(ValidationError):
            EMAIL.validate_python(raw)


class TestCanonicalEmail:
    def test_matches_the_stored_form_of_an_international_domain(self) -> None:
        assert canonical_email(" Kim@Bücher.de") == "kim@xn--bcher-kva.de"

    def test_only_trims_and_lowers_a_malformed_address(self) -> None:
        assert canonical_email("  Not An Email ") == "not an email"


class TestRegisterIn:
    def test_blank_names_become_null(self) -> None:
        data = RegisterIn(email="a@example.com", password="x" * 10, first_name="  ")
        assert data.first_name is None

    def test_refuses_unknown_fields(self) -> None:
        with pytest.raises(ValidationError):
            RegisterIn.model_validate(
                {"email": "a@example.com", "password": "x" * 10, "roles": ["admin"]}
            )


class TestProfilePatch:
    def test_tells_an_explicit_null_from_an_absent_field(self) -> None:
        patch = ProfilePatch.model_validate({"last_name": None})
        assert patch.model_fields_set == {"last_name"}


class TestAdminUserPatch:
    def test_deduplicates_roles(self) -> None:
        patch = AdminUserPatch.model_validate({"roles": ["admin", "customer", "admin"]})
        assert [r.value for r in patch.roles or []] == ["admin", "customer"]

    @pytest.mark.parametrize("body", [{"roles": []}, {"roles": ["root"]}, {"is_active": 1}])
    def test_refuses_bad_values(self, body: dict[str, object]) -> None:
        with pytest.raises(ValidationError):
            AdminUserPatch.model_validate(body)
