"""Email content from Jinja2 templates: a subject, a text part and an autoescaped HTML part."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# ISO 4217 currencies without minor units; every other one has two decimals here.
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


class EmailKind(StrEnum):
    """The ``type`` of a notification: what the email is about."""

    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"
    ORDER_CONFIRMATION = "order_confirmation"
    ORDER_SHIPPED = "order_shipped"
    ORDER_CANCELLED = "order_cancelled"


class Template(StrEnum):
    """A template folder under ``emails/templates``: subject.txt, body.txt, body.html."""

    WELCOME = "welcome"
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"
    ORDER_PAID = "order_paid"
    ORDER_SHIPPED = "order_shipped"
    ORDER_CANCELLED = "order_cancelled"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """What an email says, ready to be stored and sent."""

    subject: str
    text: str
    html: str


def format_money(value: Mapping[str, Any] | Any) -> str:
    """``{"amount": 1999, "currency": "USD"}`` as ``$19.99`` (``12.50 CHF`` without a symbol)."""
    if isinstance(value, Mapping):
        amount, currency = int(value["amount"]), str(value["currency"]).upper()
    else:
        amount, currency = int(value.amount), str(value.currency).upper()
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    number = f"{amount:,}" if currency in _ZERO_DECIMAL else f"{amount // 100:,}.{amount % 100:02d}"
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


def require_web_link(url: str) -> str:
    """The URL itself when it is an absolute http(s) link on one line; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ValueError("an email link must be an absolute http(s) URL without whitespace")
    return url


class EmailRenderer:
    """Renders the templates with the shop's name and public URL from the settings."""

    def __init__(self, *, shop_name: str, public_base_url: str) -> None:
        self.shop_name = shop_name
        self.base_url = public_base_url.rstrip("/")
        self._env = Environment(
            loader=PackageLoader("empora_notification.emails", "templates"),
            # HTML is escaped; text parts are not (escaping would corrupt their links).
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["money"] = format_money

    def render(self, template: Template, context: Mapping[str, Any]) -> RenderedEmail:
        """The subject (one line), text and HTML of a template."""
        values = {"shop_name": self.shop_name, "base_url": self.base_url, **context}
        subject = self._env.get_template(f"{template.value}/subject.txt").render(values)
        return RenderedEmail(
            # One line: data never smuggles a header break into the subject.
            subject=" ".join(subject.split()),
            text=self._env.get_template(f"{template.value}/body.txt").render(values),
            html=self._env.get_template(f"{template.value}/body.html").render(values),
        )
