"""Which services have migrations and app modules."""

from __future__ import annotations

from empora_cli import hooks


class TestServicesWithMigrations:
    def test_lists_services_with_an_alembic_env_but_not_cart(self) -> None:
        services = hooks.services_with_migrations()

        assert {"auth", "product", "order", "notification"} <= set(services)
        assert "cart" not in services


class TestCall:
    def test_awaits_an_async_hook(self) -> None:
        async def hook(value: int) -> int:
            return value * 2

        assert hooks._call(hook, 21) == 42

    def test_calls_a_sync_hook(self) -> None:
        assert hooks._call(lambda value: value + 1, 1) == 2


class TestLoad:
    def test_reports_a_missing_module_clearly(self) -> None:
        try:
            hooks._load("empora_nonexistent.admin", "ensure_admin")
        except hooks.HookUnavailable as exc:
            assert "empora_nonexistent.admin cannot be imported" in str(exc)
        else:
            raise AssertionError("expected HookUnavailable")

    def test_reports_a_missing_attribute_clearly(self) -> None:
        try:
            hooks._load("empora_common.paths", "no_such_hook")
        except hooks.HookUnavailable as exc:
            assert "empora_common.paths.no_such_hook does not exist" in str(exc)
        else:
            raise AssertionError("expected HookUnavailable")


class TestMissingServices:
    def test_every_service_app_and_the_sink_exist(self) -> None:
        assert hooks.missing_services() == []
