"""Route-level rules every service keeps."""

from __future__ import annotations

from typing import Any

from empora_common.testing.routes import sync_dependencies
from empora_notification.app import create_app
from empora_notification.settings import NotificationSettings


class TestRoutes:
    def test_no_endpoint_or_dependency_runs_in_a_worker_thread(
        self, base_env: dict[str, Any]
    ) -> None:
        app = create_app(NotificationSettings(**base_env))
        assert sync_dependencies(app) == set()
