"""MIME messages whose links survive the trip: text lines are never folded or re-encoded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

# RFC 5322 allows 998 characters per line. With this limit an ASCII text part goes out as
# 7bit (8bit when it has non-ASCII characters), unwrapped: quoted-printable would break a long
# link over soft line breaks in the raw message, base64 would hide it entirely.
MAX_LINE_LENGTH = 998
BODY_POLICY = SMTP.clone(max_line_length=MAX_LINE_LENGTH, cte_type="8bit")
# Headers are still folded at 78 characters when the message is written out.
WIRE_POLICY_8BIT = SMTP.clone(cte_type="8bit")
WIRE_POLICY_7BIT = SMTP.clone(cte_type="7bit")


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One email as stored: who, what, and the ids that stay the same across retries."""

    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    message_id: str
    date: datetime


def new_message_id(sender: str) -> str:
    """A fresh ``Message-ID`` in the sender's domain."""
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "empora.local"
    return make_msgid(domain=domain)


def envelope_sender(sender: str) -> str:
    """The bare address of a ``Name <address>`` header, for ``MAIL FROM``."""
    return parseaddr(sender)[1] or sender


def build_message(email: OutgoingEmail) -> EmailMessage:
    """A multipart/alternative message: the text part first, the HTML part preferred."""
    message = EmailMessage(policy=BODY_POLICY)
    message["From"] = email.sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = email.message_id
    message.set_content(email.text, subtype="plain", charset="utf-8")
    message.add_alternative(email.html, subtype="html", charset="utf-8")
    return message


def message_bytes(message: EmailMessage, *, eight_bit: bool = True) -> bytes:
    """The wire form, CRLF line ends; without 8BITMIME, 8-bit parts are re-encoded to 7 bits."""
    return message.as_bytes(policy=WIRE_POLICY_8BIT if eight_bit else WIRE_POLICY_7BIT)
