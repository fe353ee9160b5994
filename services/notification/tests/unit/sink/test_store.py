"""The sink's message store: order, lookups, waiting, and the .eml folder."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from empora_notification.sink import MailStore

RAW = (
    b"From: Shop <no-reply@shop.test>\r\nTo: Zoe <zoe@example.com>\r\nSubject: Hi\r\n"
    b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
    b'--b\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n'
    b"Open https://shop.test/verify-email?token=a_b-c now\r\nhttps://shop.test/x\r\n"
    b"and again https://shop.test/x\r\n"
    b'--b\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n<p>hi</p>\r\n--b--\r\n'
)


class TestMailStore:
    async def test_keeps_messages_newest_first(self) -> None:
        store = MailStore()
        first = await store.add("a@shop.test", ["one@example.com"], RAW)
        second = await store.add("a@shop.test", ["two@example.com"], RAW)

        assert [m.id for m in store.all()] == [second.id, first.id]
        assert store.get(first.id) is first
        assert store.get("missing") is None

    async def test_finds_messages_by_recipient_ignoring_case(self) -> None:
        store = MailStore()
        await store.add("a@shop.test", ["Zoe@Example.com"], RAW)

        assert len(store.to("zoe@example.com")) == 1
        assert store.to("other@example.com") == []

    async def test_parses_parts_links_and_summary(self) -> None:
        message = await MailStore().add("a@shop.test", ["zoe@example.com"], RAW)

        assert message.subject == "Hi"
        assert message.text is not None and message.text.startswith("Open https://")
        assert message.html == "<p>hi</p>"
        assert message.links == [
            "https://shop.test/verify-email?token=a_b-c",
            "https://shop.test/x",
        ]
        summary = message.summary()
        assert summary["from"] == "Shop <no-reply@shop.test>"
        assert summary["to"] == ["zoe@example.com"]
        assert summary["date"] == "Wed, 25 Nov 2026 10:00:00 +0000"
        assert message.detail()["raw"].startswith("From: Shop")

    async def test_wait_for_returns_a_message_that_arrives_later(self) -> None:
        store = MailStore()

        async def deliver_soon() -> None:
            await asyncio.sleep(0.05)
            await store.add("a@shop.test", ["late@example.com"], RAW)

        task = asyncio.create_task(deliver_soon())
        message = await store.wait_for(lambda m: m.matches_recipient("late@example.com"), 5)
        await task

        assert message.rcpt_tos == ["late@example.com"]

    async def test_wait_for_times_out_when_nothing_matches(self) -> None:
        with pytest.raises(TimeoutError):
            await MailStore().wait_for(lambda m: True, timeout=0.05)

    async def test_writes_eml_files_and_reads_them_back(self, tmp_path: Path) -> None:
        store = MailStore(folder=tmp_path)
        store.load()
        older = await store.add("a@shop.test", ["one@example.com"], RAW)
        newer = await store.add("a@shop.test", ["two@example.com"], RAW)

        reloaded = MailStore(folder=tmp_path)
        count = reloaded.load()

        assert count == 2
        assert [m.id for m in reloaded.all()] == [newer.id, older.id]
        assert reloaded.all()[0].raw == RAW
        assert reloaded.all()[0].recipients == ["Zoe <zoe@example.com>"]
        assert len(list(tmp_path.glob("*.eml"))) == 2

    async def test_clear_forgets_messages_and_files(self, tmp_path: Path) -> None:
        store = MailStore(folder=tmp_path)
        store.load()
        await store.add("a@shop.test", ["one@example.com"], RAW)

        store.clear()

        assert store.all() == []
        assert list(tmp_path.glob("*.eml")) == []
