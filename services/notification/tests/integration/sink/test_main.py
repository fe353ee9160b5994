"""``python -m empora_notification.sink`` as a real process: SMTP in, web out, .eml kept."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib

from empora_common.testing.infra import free_port, port_open


async def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if port_open("127.0.0.1", port):
            return
        assert proc.poll() is None, "the sink exited"
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


class TestSinkCommand:
    async def test_receives_mail_serves_it_and_keeps_eml_files(self, tmp_path: Path) -> None:
        smtp_port, http_port = free_port(), free_port()
        store = tmp_path / "mail"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "empora_notification.sink",
                "--host",
                "127.0.0.1",
                "--smtp-port",
                str(smtp_port),
                "--http-port",
                str(http_port),
                "--store",
                str(store),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            await wait_for_port(http_port, proc)
            await wait_for_port(smtp_port, proc)
            message = EmailMessage()
            message["From"] = "a@shop.test"
            message["To"] = "b@example.com"
            message["Subject"] = "Ping"
            message.set_content("https://shop.test/verify-email?token=x\n")
            await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_port)

            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{http_port}/api/messages") as resp:
                    listing = await resp.json()
                async with http.get(f"http://127.0.0.1:{http_port}/") as resp:
                    page = await resp.text()
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=10)

        assert [m["subject"] for m in listing] == ["Ping"]
        assert "Ping" in page
        assert len(list(store.glob("*.eml"))) == 1
        assert proc.returncode == 0
        assert f"inbox at http://localhost:{http_port}" in output.decode()
