from __future__ import annotations

import pytest

from empora_auth.passwords.policy import (
    MAX_LENGTH,
    MIN_LENGTH,
    check_password,
    common_passwords,
    password_problem,
)
from empora_common.errors import ValidationFailed


class TestCommonPasswords:
    def test_ships_a_few_thousand_lower_case_entries(self) -> None:
        entries = common_passwords()
        assert 3_000 <= len(entries) <= 20_000
        assert all(e == e.lower() for e in entries)

    @pytest.mark.parametrize(
        "password", ["password", "12345678", "qwerty123", "iloveyou", "1q2w3e4r", "p@ssw0rd"]
    )
    def test_contains_the_best_known_ones(self, password: str) -> None:
        assert password in common_passwords()


class TestPasswordProblem:
    def test_accepts_a_long_passphrase_without_composition_rules(self) -> None:
        assert password_problem("violet harbor lantern") is None

    def test_rejects_seven_characters(self) -> None:
        assert "at least" in (password_problem("a" * (MIN_LENGTH - 1) + "") or "")

    def test_accepts_exactly_the_bounds(self) -> None:
        assert password_problem("zq7-mxv!") is None
        assert password_problem("zq7-mxv!" * (MAX_LENGTH // 8)) is None

    def test_rejects_more_than_128_characters_instead_of_truncating(self) -> None:
        assert "at most" in (password_problem("zq7-mxv!" * 16 + "x") or "")

    def test_counts_characters_not_bytes(self) -> None:
        assert password_problem("ééééééé") is not None  # 7 characters, 14 bytes
        assert password_problem("éééééééé") is None

    def test_rejects_common_passwords_in_any_letter_case(self) -> None:
        assert "common" in (password_problem("PassWord123") or "")

    def test_rejects_the_email_address_or_its_local_part(self) -> None:
        assert password_problem("jane.doe.shop@example.com", email="Jane.Doe.Shop@example.com")
        assert password_problem("jane.doe.shop", email="jane.doe.shop@example.com")

    def test_normalises_unicode_before_measuring(self) -> None:
        # "ｐａｓｓｗｏｒｄ" (full-width) is "password" after NFKC.
        assert password_problem("ｐａｓｓｗｏｒｄ") is not None


class TestCheckPassword:
    def test_raises_a_422_naming_the_field(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            check_password("short", field="new_password")
        assert caught.value.status == 422
        assert caught.value.extra["errors"][0]["field"] == "new_password"

    def test_returns_quietly_for_a_good_password(self) -> None:
        assert check_password("violet harbor lantern") is None
