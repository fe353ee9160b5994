"""The sink's two servers in one event loop: aiosmtpd for SMTP, uvicorn for the web page."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session

from empora_notification.sink.store import MailStore
from empora_notification.sink.web import create_web_app


class SinkHandler:
    """Accepts every message and keeps it in the store."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the message exactly as the client sent it."""
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        await self.store.add(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server that keeps every message, and the web inbox that shows them.

    Port 0 picks a free port (see ``smtp_port`` / ``http_port`` once started).
    ``smtp_options`` go to aiosmtpd's ``SMTP`` (TLS context, authenticator, ...).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        smtp_port: int = 1025,
        http_port: int | None = 8025,
        store: MailStore | None = None,
        store_dir: Path | None = None,
        handler: Any = None,
        smtp_options: dict[str, Any] | None = None,
    ) -> None:
        self.host = host
        self.smtp_port = smtp_port
        self.http_port = http_port
        self.store = store or MailStore(folder=store_dir)
        self.handler = handler or SinkHandler(self.store)
        self.smtp_options = smtp_options or {}
        self._smtp: asyncio.Server | None = None
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The web inbox."""
        return f"http://{self.host}:{self.http_port}"

    async def start(self) -> MailSink:
        """Load the store's folder, then open the SMTP and HTTP ports."""
        self.store.load()
        await self.start_smtp()
        if self.http_port is not None:
            await self._start_http()
        return self

    def _smtp_protocol(self) -> SMTP:
        return SMTP(
            self.handler,
            hostname="empora-sink",
            ident="Empora mail sink",
            enable_SMTPUTF8=True,
            loop=asyncio.get_running_loop(),
            **self.smtp_options,
        )

    async def start_smtp(self) -> None:
        """Accept SMTP connections (again, on the same port after ``stop_smtp``)."""
        loop = asyncio.get_running_loop()
        self._smtp = await loop.create_server(self._smtp_protocol, self.host, self.smtp_port)
        self.smtp_port = int(self._smtp.sockets[0].getsockname()[1])

    async def stop_smtp(self) -> None:
        """Refuse SMTP connections from now on (an outage, for tests)."""
        server, self._smtp = self._smtp, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def _start_http(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.http_port or 0))
        self.http_port = int(sock.getsockname()[1])
        app = create_web_app(self.store, smtp_address=f"{self.host}:{self.smtp_port}")
        self._http = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        )
        self._http_task = asyncio.create_task(self._http.serve(sockets=[sock]))
        while not self._http.started:
            if self._http_task.done():
                self._http_task.result()
                raise RuntimeError("the sink's web server exited during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Close both servers."""
        await self.stop_smtp()
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            with contextlib.suppress(Exception):
                await self._http_task
        self._http = None
        self._http_task = None

    async def __aenter__(self) -> MailSink:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()
