"""``python -m empora_notification``: serve the service on NOTIFICATION_PORT."""

from __future__ import annotations

import uvicorn

from empora_notification.app import create_app
from empora_notification.settings import NotificationSettings


def main() -> None:
    """Run the web process (with its consumer and sender)."""
    settings = NotificationSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()
