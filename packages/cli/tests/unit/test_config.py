"""PlatformConfig and the generated secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from empora_cli.config import PlatformConfig, ensure_secrets, load_secrets


def config_for(tmp_path: Path, **env: str) -> PlatformConfig:
    return PlatformConfig.from_env({"EMPORA_STATE_DIR": str(tmp_path / "state"), **env})


class TestFromEnv:
    def test_uses_the_contract_ports_by_default(self, tmp_path: Path) -> None:
        config = config_for(tmp_path)

        assert config.ports == {
            "gateway": 3001,
            "auth": 3002,
            "product": 3003,
            "cart": 3004,
            "order": 3005,
            "notification": 3006,
        }
        assert (config.sink_port, config.sink_http_port) == (1025, 8025)
        assert config.host == "127.0.0.1"
        assert config.smtp_host is None

    def test_reads_service_ports_and_state_dir(self, tmp_path: Path) -> None:
        config = config_for(tmp_path, GATEWAY_PORT="4001", ORDER_PORT="4005")

        assert config.ports["gateway"] == 4001
        assert config.ports["order"] == 4005
        assert config.service_url("order") == "http://127.0.0.1:4005"
        assert config.gateway_url == "http://localhost:4001"
        assert config.state_dir == (tmp_path / "state").resolve()

    def test_rejects_a_port_that_is_not_a_number(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="CART_PORT"):
            config_for(tmp_path, CART_PORT="http")

    def test_takes_smtp_from_env_with_port_25_by_default(self, tmp_path: Path) -> None:
        config = config_for(tmp_path, SMTP_HOST="mail.example.com")

        assert (config.smtp_host, config.smtp_port) == ("mail.example.com", 25)

    def test_reaches_a_wildcard_bind_on_localhost(self, tmp_path: Path) -> None:
        config = config_for(tmp_path, EMPORA_HOST="0.0.0.0")

        assert config.host == "0.0.0.0"
        assert config.service_url("auth") == "http://127.0.0.1:3002"


class TestEnsureSecrets:
    def test_generates_the_token_and_admin_password_once(self, tmp_path: Path) -> None:
        config = config_for(tmp_path)

        first = ensure_secrets(config)
        second = ensure_secrets(config)

        assert len(first["INTERNAL_API_TOKEN"]) >= 32
        assert first["EMPORA_ADMIN_PASSWORD"]
        assert first == second
        assert load_secrets(config.state_dir) == first
        assert (config.state_dir / "secrets.env").stat().st_mode & 0o777 == 0o600

    def test_generates_nothing_the_environment_sets(self, tmp_path: Path) -> None:
        config = config_for(tmp_path, INTERNAL_API_TOKEN="set", EMPORA_ADMIN_PASSWORD="pw")

        assert ensure_secrets(config) == {}
        assert not (config.state_dir / "secrets.env").exists()
