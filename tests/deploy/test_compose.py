"""compose.yaml, checked by parsing it (Docker is not needed to run the tests)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from empora_common.constants import ALL_SERVICES, DEFAULT_PORTS
from empora_common.paths import repo_root


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((repo_root() / "compose.yaml").read_text())


class TestCompose:
    def test_runs_the_infrastructure_with_healthchecks(self, compose: dict[str, Any]) -> None:
        services = compose["services"]

        assert services["postgres"]["image"] == "postgres:16"
        assert services["redis"]["image"] == "redis:7"
        assert services["rabbitmq"]["image"] == "rabbitmq:3-management"
        for name in ("postgres", "redis", "rabbitmq"):
            assert services[name]["healthcheck"]["test"], name

    def test_builds_every_service_from_its_dockerfile(self, compose: dict[str, Any]) -> None:
        for name in ALL_SERVICES:
            service = compose["services"][name]
            dockerfile = service["build"]["dockerfile"]

            assert dockerfile == f"services/{name}/Dockerfile"
            assert (repo_root() / dockerfile).is_file()
            assert service["environment"][f"{name.upper()}_PORT"] == str(DEFAULT_PORTS[name])
            assert service["healthcheck"]["test"]

    def test_starts_services_after_the_one_shot_setup(self, compose: dict[str, Any]) -> None:
        setup = compose["services"]["setup"]

        assert setup["restart"] == "no"
        assert "empora migrate" in setup["command"][0]
        assert "empora seed" in setup["command"][0]
        for name in ("auth", "product", "cart", "order", "notification"):
            depends = compose["services"][name]["depends_on"]
            assert depends["setup"]["condition"] == "service_completed_successfully"
            assert depends["postgres"]["condition"] == "service_healthy"

    def test_gives_every_service_the_contract_configuration(self, compose: dict[str, Any]) -> None:
        names = {"DATABASE_URL", "REDIS_URL", "AMQP_URL", "SMTP_HOST", "SMTP_PORT"}
        names |= {"PUBLIC_BASE_URL", "INTERNAL_API_TOKEN", "AUTH_URL", "PRODUCT_URL"}
        names |= {"CART_URL", "ORDER_URL", "NOTIFICATION_URL"}
        for name in ALL_SERVICES:
            env = compose["services"][name]["environment"]
            assert names <= set(env), name

    def test_publishes_only_the_gateway_beyond_localhost(self, compose: dict[str, Any]) -> None:
        for name in ALL_SERVICES:
            ports = compose["services"][name]["ports"]
            if name == "gateway":
                assert ports == ["3001:3001"]
            else:
                assert all(p.startswith("127.0.0.1:") for p in ports), name


class TestDockerfiles:
    @pytest.mark.parametrize("name", ALL_SERVICES)
    def test_installs_only_its_service_and_runs_it(self, name: str) -> None:
        text = (repo_root() / "services" / name / "Dockerfile").read_text()

        assert "FROM python:3.11-slim" in text
        assert f"--package empora-{name}" in text
        assert "uv sync --frozen" in text
        runs_factory = f"empora_{name}.app:create_app --factory" in text
        runs_own_runner = f'CMD ["python", "-m", "empora_{name}"]' in text
        assert runs_factory or runs_own_runner
