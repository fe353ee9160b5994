"""The SMTP transport: aiosmtplib to ``SMTP_HOST:SMTP_PORT``, STARTTLS and AUTH when set."""

from __future__ import annotations

import contextlib
from email.message import EmailMessage
from types import TracebackType

import aiosmtplib

from empora_notification.emails.message import envelope_sender, message_bytes
from empora_notification.settings import NotificationSettings

# Everything a send can raise that says "this attempt failed" rather than "a bug".
SEND_ERRORS: tuple[type[BaseException], ...] = (
    aiosmtplib.SMTPException,
    OSError,
    TimeoutError,
)


def is_permanent(error: BaseException) -> bool:
    """True for a 5xx refusal of the sender, a recipient or the data: retrying cannot help."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= r.code < 600 for r in error.recipients)
    if isinstance(
        error,
        aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPDataError,
    ):
        return 500 <= error.code < 600
    return False


def is_session_failure(error: BaseException) -> bool:
    """True unless the server refused this one message: connect, TLS, auth, a dropped line.

    Such a failure is charged to every message left in the batch without trying each.
    """
    per_message = (
        aiosmtplib.SMTPRecipientsRefused,
        aiosmtplib.SMTPRecipientRefused,
        aiosmtplib.SMTPSenderRefused,
        aiosmtplib.SMTPDataError,
    )
    return not isinstance(error, per_message)


def describe(error: BaseException) -> str:
    """A one-line description of a send failure, kept on the notification row."""
    text = " ".join(str(error).split()) or "no detail"
    return f"{type(error).__name__}: {text}"[:1000]


class SmtpMailer:
    """Opens SMTP sessions with the configured server, security and credentials."""

    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    def session(self) -> SmtpSession:
        """A session that connects on first use and can send many messages."""
        return SmtpSession(self)

    async def connect(self) -> aiosmtplib.SMTP:
        """A connected (and, when configured, upgraded and authenticated) client."""
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout,
            # Explicit: never upgrade by surprise, never send credentials in clear by surprise.
            start_tls=s.smtp_starttls,
            validate_certs=s.smtp_validate_certs,
        )
        await client.connect()
        if s.smtp_username is not None:
            password = s.smtp_password.get_secret_value() if s.smtp_password is not None else ""
            await client.login(s.smtp_username.get_secret_value(), password)
        if client.is_ehlo_or_helo_needed:
            # Greet now: the server's extensions (8BITMIME) decide how the message is written.
            await client.ehlo()
        return client


class SmtpSession:
    """One SMTP connection reused for a batch; reconnects after a failed send."""

    def __init__(self, mailer: SmtpMailer) -> None:
        self._mailer = mailer
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        """Send one message; raises one of ``SEND_ERRORS`` when the server did not accept it."""
        try:
            if self._client is None or not self._client.is_connected:
                self._client = await self._mailer.connect()
            client = self._client
            eight_bit = client.supports_extension("8bitmime")
            raw = message_bytes(message, eight_bit=eight_bit)
            options = ["BODY=8BITMIME"] if eight_bit and not raw.isascii() else []
            await client.sendmail(envelope_sender(sender), [recipient], raw, mail_options=options)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Say goodbye politely if we can; drop the connection regardless."""
        client, self._client = self._client, None
        if client is None:
            return
        if client.is_connected:
            with contextlib.suppress(*SEND_ERRORS):
                await client.quit()
        client.close()

    async def __aenter__(self) -> SmtpSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
