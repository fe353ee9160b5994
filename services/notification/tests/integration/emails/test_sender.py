"""The SMTP transport against real aiosmtpd servers: plain, STARTTLS + AUTH, refusals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from empora_notification.emails.message import OutgoingEmail, build_message
from empora_notification.emails.sender import SmtpMailer, is_permanent, is_session_failure
from empora_notification.settings import NotificationSettings
from empora_notification.sink import MailSink

USER, PASSWORD = "mailer", "s3cret-pass"


def self_signed(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def authenticator(
    _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
async def secure_sink(tmp_path: Path) -> AsyncIterator[MailSink]:
    """A server that insists on STARTTLS and on AUTH before any mail."""
    options = {
        "tls_context": self_signed(tmp_path),
        "require_starttls": True,
        "auth_required": True,
        "authenticator": authenticator,
    }
    async with MailSink(smtp_port=0, http_port=None, smtp_options=options) as server:
        yield server


def email(recipient: str) -> OutgoingEmail:
    return OutgoingEmail(
        sender="Empora <no-reply@empora.local>",
        recipient=recipient,
        subject="Hello",
        text="Open https://shop.example.test/verify-email?token=abc_-XYZ\n",
        html='<a href="https://shop.example.test/verify-email?token=abc_-XYZ">open</a>',
        message_id="<fixed@empora.local>",
        date=dt.datetime.now(dt.UTC),
    )


def settings(port: int, **values: Any) -> NotificationSettings:
    return NotificationSettings(SMTP_HOST="127.0.0.1", SMTP_PORT=port, **values)


class TestSmtpSession:
    async def test_sends_over_starttls_with_credentials(self, secure_sink: MailSink) -> None:
        mailer = SmtpMailer(
            settings(
                secure_sink.smtp_port,
                SMTP_STARTTLS=True,
                SMTP_VALIDATE_CERTS=False,
                SMTP_USERNAME=USER,
                SMTP_PASSWORD=PASSWORD,
            )
        )
        async with mailer.session() as smtp:
            for recipient in ("a@example.com", "b@example.com"):
                message = build_message(email(recipient))
                await smtp.send(message, sender=message["From"], recipient=recipient)

        assert [m.rcpt_tos for m in secure_sink.store.all()] == [
            ["b@example.com"],
            ["a@example.com"],
        ]
        assert secure_sink.store.all()[0].header("Message-ID") == "<fixed@empora.local>"

    async def test_wrong_password_is_a_session_failure(self, secure_sink: MailSink) -> None:
        mailer = SmtpMailer(
            settings(
                secure_sink.smtp_port,
                SMTP_STARTTLS=True,
                SMTP_VALIDATE_CERTS=False,
                SMTP_USERNAME=USER,
                SMTP_PASSWORD="wrong",
            )
        )
        message = build_message(email("a@example.com"))
        async with mailer.session() as smtp:
            with pytest.raises(aiosmtplib.SMTPAuthenticationError) as caught:
                await smtp.send(message, sender=message["From"], recipient="a@example.com")

        assert is_session_failure(caught.value)
        assert not is_permanent(caught.value)
        assert secure_sink.store.all() == []

    async def test_without_starttls_the_secure_server_refuses(self, secure_sink: MailSink) -> None:
        mailer = SmtpMailer(settings(secure_sink.smtp_port))
        message = build_message(email("a@example.com"))
        async with mailer.session() as smtp:
            with pytest.raises(aiosmtplib.SMTPException):
                await smtp.send(message, sender=message["From"], recipient="a@example.com")

        assert secure_sink.store.all() == []

    async def test_a_closed_port_raises_a_connection_error(self, sink: MailSink) -> None:
        port = sink.smtp_port
        await sink.stop_smtp()
        mailer = SmtpMailer(settings(port, SMTP_TIMEOUT=2))
        message = build_message(email("a@example.com"))
        async with mailer.session() as smtp:
            with pytest.raises(aiosmtplib.SMTPConnectError) as caught:
                await smtp.send(message, sender=message["From"], recipient="a@example.com")

        assert is_session_failure(caught.value)

    async def test_the_raw_message_keeps_a_long_link_on_one_line(self, sink: MailSink) -> None:
        link = "https://shop.example.test/verify-email?token=" + "Ab3_-" * 60
        outgoing = dataclasses.replace(
            email("zoe@example.com"),
            text=f"Grüße, Zoë!\n\n{link}\n",
            html=f'<a href="{link}">x</a>',
        )
        message = build_message(outgoing)
        async with SmtpMailer(settings(sink.smtp_port)).session() as smtp:
            await smtp.send(message, sender=message["From"], recipient=outgoing.recipient)

        received = sink.store.all()[0]
        assert link.encode() in received.raw.split(b"\r\n")
        assert received.text is not None and "Grüße, Zoë!" in received.text
        assert received.html is not None and f'href="{link}"' in received.html
