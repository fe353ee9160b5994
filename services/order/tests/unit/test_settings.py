"""Order settings: the contract's names and defaults."""

from __future__ import annotations

from empora_order.settings import OrderSettings


class TestOrderSettings:
    def test_defaults_of_the_contract(self) -> None:
        settings = OrderSettings()
        assert settings.service_name == "order"
        assert settings.port == 3005
        assert (settings.shipping_flat_fee, settings.free_shipping_threshold) == (499, 5000)

    def test_reads_the_contracts_environment_names(self) -> None:
        settings = OrderSettings(ORDER_PORT=4005, SHIPPING_FLAT_FEE=0, FREE_SHIPPING_THRESHOLD=1)
        assert (settings.port, settings.shipping_flat_fee, settings.free_shipping_threshold) == (
            4005,
            0,
            1,
        )
