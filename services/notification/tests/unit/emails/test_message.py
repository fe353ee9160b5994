"""MIME building: alternative parts, unfolded link lines, ids kept across retries."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from empora_notification.emails.message import (
    OutgoingEmail,
    build_message,
    envelope_sender,
    message_bytes,
    new_message_id,
)

LINK = "https://shop.example.test/verify-email?token=" + "x1_-" * 40  # far past 78 chars


def outgoing(text: str, html: str = "<p>hi</p>") -> OutgoingEmail:
    return OutgoingEmail(
        sender="Empora <no-reply@empora.local>",
        recipient="user@example.com",
        subject="Welcome",
        text=text,
        html=html,
        message_id="<abc@empora.local>",
        date=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )


class TestBuildMessage:
    def test_has_a_text_part_then_an_html_part(self) -> None:
        message = build_message(outgoing("hello\n", "<p>hello</p>"))

        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["Message-ID"] == "<abc@empora.local>"
        assert message["Date"] == "Wed, 25 Nov 2026 10:00:00 +0000"

    def test_an_ascii_body_keeps_a_long_link_on_one_raw_line(self) -> None:
        raw = message_bytes(build_message(outgoing(f"Open:\n{LINK}\n", f'<a href="{LINK}">x</a>')))

        lines = raw.split(b"\r\n")
        assert LINK.encode() in lines
        assert f'<a href="{LINK}">x</a>'.encode() in lines
        assert b"Content-Transfer-Encoding: 7bit" in lines

    def test_a_non_ascii_body_goes_8bit_with_the_link_intact(self) -> None:
        raw = message_bytes(build_message(outgoing(f"Grüße, Zoë\n{LINK}\n")))

        assert LINK.encode() in raw.split(b"\r\n")
        assert b"Content-Transfer-Encoding: 8bit" in raw.split(b"\r\n")
        parsed = message_from_bytes(raw, policy=policy.default)
        text = parsed.get_body(("plain",))
        assert text is not None and "Grüße, Zoë" in text.get_content()

    def test_without_8bitmime_the_body_is_re_encoded_and_still_decodes(self) -> None:
        raw = message_bytes(build_message(outgoing(f"Grüße\n{LINK}\n")), eight_bit=False)

        assert raw.isascii()
        parsed = message_from_bytes(raw, policy=policy.default)
        text = parsed.get_body(("plain",))
        assert text is not None and LINK in text.get_content().splitlines()

    def test_a_non_ascii_subject_is_encoded_in_the_header(self) -> None:
        email = outgoing("x\n")
        raw = message_bytes(build_message(OutgoingEmail(**{**_fields(email), "subject": "Grüße"})))

        assert raw.isascii() or b"Subject: =?utf-8?" in raw
        assert message_from_bytes(raw, policy=policy.default)["Subject"] == "Grüße"


def _fields(email: OutgoingEmail) -> dict[str, object]:
    return {name: getattr(email, name) for name in OutgoingEmail.__slots__}


class TestAddresses:
    def test_the_envelope_sender_is_the_bare_address(self) -> None:
        assert envelope_sender("Empora <no-reply@empora.local>") == "no-reply@empora.local"
        assert envelope_sender("plain@example.com") == "plain@example.com"

    def test_message_ids_are_unique_and_in_the_sender_domain(self) -> None:
        first, second = new_message_id("Shop <a@shop.test>"), new_message_id("Shop <a@shop.test>")

        assert first != second
        assert first.startswith("<") and first.endswith("@shop.test>")
