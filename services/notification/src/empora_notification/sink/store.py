"""Received messages: in memory, newest first, and as .eml files in a folder if given."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any

URL_PATTERN = re.compile(r"https?://[^\s<>\"']+")
_FILE_TIME = "%Y%m%dT%H%M%S%f"


@dataclass
class StoredMessage:
    """One message as the SMTP client handed it over, with its parsed views."""

    id: str
    received_at: datetime
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @cached_property
    def parsed(self) -> EmailMessage:
        """The message parsed with the modern policy."""
        return message_from_bytes(self.raw, policy=policy.default)

    def header(self, name: str) -> str:
        """A header's decoded value ('' when absent)."""
        value = self.parsed.get(name)
        return str(value) if value is not None else ""

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def sender(self) -> str:
        return self.header("From") or self.mail_from

    @property
    def recipients(self) -> list[str]:
        """The envelope recipients (who the message was delivered to)."""
        return list(self.rcpt_tos) or [self.header("To")]

    def _part(self, subtype: str) -> str | None:
        part = self.parsed.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            return None
        return str(part.get_content())

    @cached_property
    def text(self) -> str | None:
        """The text/plain part, decoded."""
        return self._part("plain")

    @cached_property
    def html(self) -> str | None:
        """The text/html part, decoded."""
        return self._part("html")

    @property
    def links(self) -> list[str]:
        """Every http(s) link of the text part, in order, without repeats."""
        return list(dict.fromkeys(URL_PATTERN.findall(self.text or "")))

    def headers(self) -> list[dict[str, str]]:
        """All headers, in order, decoded."""
        return [{"name": k, "value": str(v)} for k, v in self.parsed.items()]

    def matches_recipient(self, address: str) -> bool:
        """True when the message went to this address (letter case ignored)."""
        wanted = address.strip().lower()
        candidates = [r.lower() for r in self.rcpt_tos] + [self.header("To").lower()]
        return any(wanted == c or f"<{wanted}>" in c for c in candidates)

    def summary(self) -> dict[str, Any]:
        """The list view: ``{id, from, to, subject, date, received_at, size}``."""
        return {
            "id": self.id,
            "from": self.sender,
            "to": self.recipients,
            "subject": self.subject,
            "date": self.header("Date") or None,
            "received_at": self.received_at.isoformat(),
            "size": len(self.raw),
        }

    def detail(self) -> dict[str, Any]:
        """Everything: the summary plus envelope, headers, text, html, links and raw source."""
        return {
            **self.summary(),
            "mail_from": self.mail_from,
            "rcpt_tos": list(self.rcpt_tos),
            "headers": self.headers(),
            "text": self.text,
            "html": self.html,
            "links": self.links,
            "raw": self.raw.decode("utf-8", errors="replace"),
        }


@dataclass
class MailStore:
    """Messages newest first; waiters can await a message that matches a predicate."""

    folder: Path | None = None
    max_messages: int = 10_000
    _messages: list[StoredMessage] = field(default_factory=list)
    _changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def load(self) -> int:
        """Read the .eml files of the folder (oldest first in, so newest first out)."""
        if self.folder is None:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        loaded = 0
        for path in sorted(self.folder.glob("*.eml")):
            stamp, _, message_id = path.stem.partition("_")
            try:
                received = datetime.strptime(stamp, _FILE_TIME).replace(tzinfo=UTC)
            except ValueError:
                received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            raw = path.read_bytes()
            message = StoredMessage(
                id=message_id or uuid.uuid4().hex,
                received_at=received,
                mail_from="",
                rcpt_tos=[],
                raw=raw,
            )
            message.mail_from = message.header("From")
            message.rcpt_tos = [a.strip() for a in message.header("To").split(",") if a.strip()]
            self._messages.insert(0, message)
            loaded += 1
        return loaded

    async def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> StoredMessage:
        """Keep a received message (and write it to the folder)."""
        message = StoredMessage(
            id=uuid.uuid4().hex,
            received_at=datetime.now(UTC),
            mail_from=mail_from,
            rcpt_tos=list(rcpt_tos),
            raw=raw,
        )
        if self.folder is not None:
            path = self.folder / f"{message.received_at.strftime(_FILE_TIME)}_{message.id}.eml"
            await asyncio.to_thread(path.write_bytes, raw)
        condition = self._condition()
        async with condition:
            self._messages.insert(0, message)
            del self._messages[self.max_messages :]
            condition.notify_all()
        return message

    def all(self) -> list[StoredMessage]:
        """Every message, newest first."""
        return list(self._messages)

    def get(self, message_id: str) -> StoredMessage | None:
        """One message by id."""
        return next((m for m in self._messages if m.id == message_id), None)

    def to(self, address: str) -> list[StoredMessage]:
        """The messages delivered to an address, newest first."""
        return [m for m in self._messages if m.matches_recipient(address)]

    def clear(self) -> None:
        """Forget every message (and delete the files)."""
        self._messages.clear()
        if self.folder is not None:
            for path in self.folder.glob("*.eml"):
                path.unlink(missing_ok=True)

    async def wait_for(
        self, predicate: Callable[[StoredMessage], bool], timeout: float = 10.0
    ) -> StoredMessage:
        """The newest message matching ``predicate``, waiting up to ``timeout`` for it."""
        condition = self._condition()

        def found() -> StoredMessage | None:
            return next((m for m in self._messages if predicate(m)), None)

        async with condition:
            result = await asyncio.wait_for(condition.wait_for(found), timeout)
        if result is None:  # pragma: no cover - wait_for only returns a truthy result
            raise LookupError("no matching message")
        return result
