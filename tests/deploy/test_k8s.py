"""The kustomize base, checked by parsing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from empora_common.constants import ALL_SERVICES, DEFAULT_PORTS
from empora_common.paths import repo_root

BASE = repo_root() / "deploy" / "k8s" / "base"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((BASE / "kustomization.yaml").read_text())


@pytest.fixture(scope="module")
def objects(kustomization: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in kustomization["resources"]:
        for doc in documents(BASE / resource):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


class TestKustomization:
    def test_lists_only_files_that_exist(self, kustomization: dict[str, Any]) -> None:
        assert kustomization["kind"] == "Kustomization"
        for resource in kustomization["resources"]:
            assert (BASE / resource).is_file(), resource

    def test_every_yaml_file_is_a_resource(self, kustomization: dict[str, Any]) -> None:
        files = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}

        assert files == set(kustomization["resources"])


class TestServices:
    @pytest.mark.parametrize("name", ALL_SERVICES)
    def test_has_a_deployment_and_a_service_on_its_port(
        self, name: str, objects: dict[tuple[str, str], dict[str, Any]]
    ) -> None:
        deployment = objects[("Deployment", name)]
        service = objects[("Service", name)]
        port = DEFAULT_PORTS[name]
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]

        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector == {"app.kubernetes.io/name": name}
        assert selector.items() <= pod["metadata"]["labels"].items()
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        assert container["ports"][0]["containerPort"] == port
        assert service["spec"]["ports"][0]["port"] == port
        assert {"name": f"{name.upper()}_PORT", "value": str(port)} in container["env"]
        assert container["readinessProbe"]["httpGet"]["path"]
        assert container["livenessProbe"]["httpGet"]["path"]

    @pytest.mark.parametrize("name", ALL_SERVICES)
    def test_takes_settings_from_the_configmap_and_secret(
        self, name: str, objects: dict[tuple[str, str], dict[str, Any]]
    ) -> None:
        container = objects[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
        sources = container["envFrom"]

        assert {"configMapRef": {"name": "empora-config"}} in sources
        assert {"secretRef": {"name": "empora-secrets"}} in sources

    def test_the_configmap_holds_no_secret(
        self, objects: dict[tuple[str, str], dict[str, Any]]
    ) -> None:
        data = objects[("ConfigMap", "empora-config")]["data"]

        assert not {"DATABASE_URL", "AMQP_URL", "INTERNAL_API_TOKEN"} & set(data)
        assert data["EMPORA_ENV"] == "production"

    def test_the_setup_job_migrates_and_seeds(
        self, objects: dict[tuple[str, str], dict[str, Any]]
    ) -> None:
        job = objects[("Job", "empora-setup")]
        args = job["spec"]["template"]["spec"]["containers"][0]["args"][0]

        assert "empora migrate" in args
        assert "empora seed" in args
