"""The sink's web inbox over real HTTP: JSON API, pages, and a real browser clicking through."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from empora_notification.emails.message import OutgoingEmail, build_message
from empora_notification.emails.rendering import EmailRenderer, Template
from empora_notification.emails.sender import SmtpMailer
from empora_notification.settings import NotificationSettings
from empora_notification.sink import MailSink

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LINK = "https://shop.example.test/verify-email?token=Zm9vYmFy_-token"


@pytest.fixture
async def web_sink() -> AsyncIterator[MailSink]:
    async with MailSink(smtp_port=0, http_port=0) as server:
        yield server


async def send_verification(sink: MailSink, recipient: str = "newcomer@example.com") -> None:
    """A verification email, rendered and sent the way the service does it."""
    settings = NotificationSettings(
        SMTP_HOST="127.0.0.1", SMTP_PORT=sink.smtp_port, PUBLIC_BASE_URL="https://shop.example.test"
    )
    renderer = EmailRenderer(shop_name=settings.shop_name, public_base_url=settings.public_base_url)
    content = renderer.render(
        Template.WELCOME, {"email": recipient, "first_name": "Ada", "verification_url": LINK}
    )
    message = build_message(
        OutgoingEmail(
            sender=settings.smtp_from,
            recipient=recipient,
            subject=content.subject,
            text=content.text,
            html=content.html,
            message_id="<verify-1@empora.local>",
            date=datetime.now(UTC),
        )
    )
    async with SmtpMailer(settings).session() as smtp:
        await smtp.send(message, sender=settings.smtp_from, recipient=recipient)


class TestJsonApi:
    async def test_lists_and_shows_messages(self, web_sink: MailSink) -> None:
        await send_verification(web_sink, "first@example.com")
        await send_verification(web_sink, "second@example.com")

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{web_sink.url}/api/messages") as resp:
                listing = await resp.json()
            async with http.get(f"{web_sink.url}/api/messages?to=FIRST@example.com") as resp:
                filtered = await resp.json()
            async with http.get(f"{web_sink.url}/api/messages/{listing[0]['id']}") as resp:
                detail = await resp.json()

        assert [m["to"] for m in listing] == [["second@example.com"], ["first@example.com"]]
        assert set(listing[0]) == {"id", "from", "to", "subject", "date", "received_at", "size"}
        assert [m["to"] for m in filtered] == [["first@example.com"]]
        assert detail["subject"] == "Welcome to Empora: confirm your email address"
        assert LINK in detail["text"].splitlines()
        assert f'href="{LINK}"' in detail["html"]
        assert LINK in detail["links"]
        assert LINK in detail["raw"].splitlines()

    async def test_unknown_message_is_404_and_delete_clears(self, web_sink: MailSink) -> None:
        await send_verification(web_sink)

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{web_sink.url}/api/messages/nope") as resp:
                missing = resp.status
            async with http.get(f"{web_sink.url}/messages/nope") as resp:
                missing_page = resp.status
            async with http.delete(f"{web_sink.url}/api/messages") as resp:
                deleted = resp.status
            async with http.get(f"{web_sink.url}/api/messages") as resp:
                after = await resp.json()

        assert (missing, missing_page, deleted) == (404, 404, 204)
        assert after == []

    async def test_the_raw_source_is_served_as_text(self, web_sink: MailSink) -> None:
        await send_verification(web_sink)
        message = web_sink.store.all()[0]

        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{web_sink.url}/messages/{message.id}/raw") as resp,
        ):
            body = await resp.read()
            content_type = resp.content_type

        assert body == message.raw
        assert content_type == "text/plain"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
class TestInboxPageInChromium:
    async def test_a_newcomer_opens_the_inbox_clicks_the_email_and_follows_the_link(
        self, web_sink: MailSink
    ) -> None:
        from playwright.async_api import Route, async_playwright

        await send_verification(web_sink)

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()

                # The storefront is not running here: answer its verify page in the browser.
                async def storefront(route: Route) -> None:
                    await route.fulfill(
                        status=200, body="email verified", content_type="text/plain"
                    )

                await page.route("https://shop.example.test/**", storefront)
                await page.goto(web_sink.url)
                subject = page.locator("a.subject")
                assert await subject.count() == 1
                assert await subject.inner_text() == "Welcome to Empora: confirm your email address"

                await subject.click()
                await page.wait_for_url(f"{web_sink.url}/messages/*")

                text_link = page.locator(f'#text a[href="{LINK}"]')
                assert await text_link.is_visible()
                assert await text_link.inner_text() == LINK
                html_frame = page.frame_locator("#html")
                assert await html_frame.locator(f'a[href="{LINK}"]').count() == 2
                headers = await page.locator("#headers").inner_text()
                assert "newcomer@example.com" in headers
                assert "<verify-1@empora.local>" in headers

                await text_link.click()
                await page.wait_for_url(LINK)
                assert await page.locator("body").inner_text() == "email verified"
            finally:
                await browser.close()
