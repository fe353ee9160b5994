"""The local SMTP sink: keeps every email and shows them on a small web page (port 8025).

``python -m empora_notification.sink --host 127.0.0.1 --smtp-port 1025 --http-port 8025
[--store DIR]``; ``empora up`` starts it when ``SMTP_HOST`` is not set.
"""

from empora_notification.sink.server import MailSink
from empora_notification.sink.store import MailStore, StoredMessage

__all__ = ["MailSink", "MailStore", "StoredMessage"]
