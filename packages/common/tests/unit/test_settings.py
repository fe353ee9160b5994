import pytest
from pydantic import ValidationError

from empora_common.settings import ServiceSettings


class TestServiceSettings:
    def test_refuses_placeholder_internal_token_in_production(self) -> None:
        with pytest.raises(ValidationError):
            ServiceSettings(EMPORA_ENV="production")

    def test_accepts_a_real_token_in_production(self) -> None:
        s = ServiceSettings(EMPORA_ENV="production", INTERNAL_API_TOKEN="x" * 32)
        assert s.internal_api_token.get_secret_value() == "x" * 32

    def test_reads_the_contract_names(self) -> None:
        s = ServiceSettings(DATABASE_URL="postgresql://u:p@h:1/d", STORE_CURRENCY="EUR")
        assert s.database_url == "postgresql://u:p@h:1/d"
        assert s.store_currency == "EUR"
