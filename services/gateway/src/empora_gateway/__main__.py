"""``python -m empora_gateway``: uvicorn with the gateway's tuned server settings."""

from __future__ import annotations

import uvicorn

from empora_gateway.app import http_protocol
from empora_gateway.settings import GatewaySettings


def main() -> None:
    """Serve the gateway (uvloop + httptools, one write per response, slow-client and header
    limits, no proxy trust)."""
    settings = GatewaySettings()
    uvicorn.run(
        "empora_gateway.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=http_protocol(settings),
        # The gateway decides itself whom to trust (TRUSTED_PROXIES); uvicorn's own
        # X-Forwarded-For handling would let local clients choose their address.
        proxy_headers=False,
        server_header=False,
        access_log=False,
        timeout_keep_alive=settings.keepalive_timeout,
        timeout_graceful_shutdown=settings.graceful_shutdown,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()
