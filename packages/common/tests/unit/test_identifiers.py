import re
from datetime import UTC, datetime

from empora_common.identifiers import generate_order_number, normalize_email


class TestGenerateOrderNumber:
    def test_has_the_contract_shape_with_the_date(self) -> None:
        number = generate_order_number(datetime(2026, 11, 25, tzinfo=UTC))
        assert re.fullmatch(r"EMP-20261125-[23456789A-Z]{6}", number)

    def test_numbers_differ(self) -> None:
        assert len({generate_order_number() for _ in range(500)}) == 500


class TestNormalizeEmail:
    def test_trims_and_lowercases_the_whole_address(self) -> None:
        assert normalize_email("  Alice.Smith@Example.COM ") == "alice.smith@example.com"
