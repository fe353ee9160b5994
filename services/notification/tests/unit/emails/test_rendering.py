"""Email templates: subjects, links on their own line, escaping, money."""

from __future__ import annotations

import pytest

from empora_contracts.events import MoneyData, OrderLineData
from empora_notification.emails.rendering import (
    EmailRenderer,
    Template,
    format_money,
    require_web_link,
)

LINK = "https://shop.example.test/verify-email?token=AbC-_123"


@pytest.fixture
def renderer() -> EmailRenderer:
    return EmailRenderer(shop_name="Acme & Co", public_base_url="https://shop.example.test/")


def line(name: str, quantity: int, unit: int) -> OrderLineData:
    return OrderLineData(
        product_id="p",
        sku="SKU-1",
        name=name,
        quantity=quantity,
        unit_price=MoneyData(amount=unit, currency="USD"),
        line_total=MoneyData(amount=unit * quantity, currency="USD"),
    )


class TestFormatMoney:
    @pytest.mark.parametrize(
        ("amount", "currency", "expected"),
        [
            (1999, "USD", "$19.99"),
            (5, "USD", "$0.05"),
            (123456789, "EUR", "€1,234,567.89"),
            (1250, "CHF", "12.50 CHF"),
            (1500, "JPY", "¥1,500"),
            (-499, "GBP", "-£4.99"),
        ],
    )
    def test_formats_minor_units(self, amount: int, currency: str, expected: str) -> None:
        assert format_money({"amount": amount, "currency": currency}) == expected

    def test_accepts_the_contract_model(self) -> None:
        assert format_money(MoneyData(amount=100, currency="usd")) == "$1.00"


class TestRequireWebLink:
    def test_keeps_an_https_link_unchanged(self) -> None:
        assert require_web_link(LINK) == LINK

    @pytest.mark.parametrize(
        "url", ["javascript:alert(1)", "/verify-email?token=x", "https://", "https://a b.test/x"]
    )
    def test_refuses_what_is_not_an_absolute_web_link(self, url: str) -> None:
        with pytest.raises(ValueError, match="absolute http"):
            require_web_link(url)


class TestRender:
    def test_verification_link_is_a_line_of_its_own_and_an_href(
        self, renderer: EmailRenderer
    ) -> None:
        email = renderer.render(
            Template.VERIFY_EMAIL,
            {"email": "a@example.com", "first_name": None, "verification_url": LINK},
        )

        assert LINK in email.text.splitlines()
        assert f'href="{LINK}"' in email.html
        assert email.subject == "Confirm your email address for Acme & Co"
        assert email.text.startswith("Hello,\n")

    def test_html_is_escaped_and_text_is_not(self, renderer: EmailRenderer) -> None:
        email = renderer.render(
            Template.WELCOME,
            {
                "email": "a@example.com",
                "first_name": "<script>x</script>",
                "verification_url": LINK,
            },
        )

        assert "<script>" not in email.html
        assert "&lt;script&gt;x&lt;/script&gt;" in email.html
        assert "Acme &amp; Co" in email.html
        assert "Hello <script>x</script>," in email.text
        assert "Acme & Co" in email.text

    def test_a_query_string_link_is_escaped_only_inside_the_attribute(
        self, renderer: EmailRenderer
    ) -> None:
        link = "https://shop.example.test/reset-password?token=abc&lang=en"
        email = renderer.render(
            Template.PASSWORD_RESET,
            {"email": "a@example.com", "first_name": "Al", "reset_url": link},
        )

        assert link in email.text.splitlines()
        assert 'href="https://shop.example.test/reset-password?token=abc&amp;lang=en"' in email.html

    def test_footer_names_the_shop_and_its_public_url(self, renderer: EmailRenderer) -> None:
        email = renderer.render(
            Template.ORDER_SHIPPED, {"first_name": None, "number": "EMP-1", "tracking_number": None}
        )

        assert email.text.rstrip().endswith("Acme & Co\nhttps://shop.example.test")
        assert 'href="https://shop.example.test"' in email.html
        assert "has not given us a tracking number" in email.text

    def test_order_paid_lists_lines_and_totals_with_the_number_in_the_subject(
        self, renderer: EmailRenderer
    ) -> None:
        usd = lambda a: MoneyData(amount=a, currency="USD")  # noqa: E731
        email = renderer.render(
            Template.ORDER_PAID,
            {
                "first_name": None,
                "number": "EMP-20261125-7K3QX9",
                "lines": [line("Mug", 2, 1250), line("Tee", 1, 1999)],
                "subtotal": usd(4499),
                "shipping": usd(0),
                "total": usd(4499),
            },
        )

        assert email.subject == "Your Acme & Co order EMP-20261125-7K3QX9 is confirmed"
        assert "- Mug (SKU-1) x 2 @ $12.50 = $25.00" in email.text.splitlines()
        assert "- Tee (SKU-1) x 1 @ $19.99 = $19.99" in email.text.splitlines()
        assert "Shipping: $0.00" in email.text
        assert "Total:    $44.99" in email.text

    def test_order_cancelled_without_refund_says_nothing_was_charged(
        self, renderer: EmailRenderer
    ) -> None:
        email = renderer.render(
            Template.ORDER_CANCELLED,
            {"first_name": None, "number": "EMP-9", "refund": None, "lines": []},
        )

        assert "EMP-9" in email.subject
        assert "nothing to refund" in email.text
        assert "Cancelled items" not in email.text

    def test_a_subject_never_spans_lines(self, renderer: EmailRenderer) -> None:
        email = renderer.render(
            Template.ORDER_SHIPPED,
            {"first_name": None, "number": "EMP-1\r\nBcc: x@evil.test", "tracking_number": "T"},
        )

        assert "\n" not in email.subject and "\r" not in email.subject

    def test_a_missing_value_is_an_error_not_an_empty_string(self, renderer: EmailRenderer) -> None:
        with pytest.raises(Exception, match="verification_url"):
            renderer.render(Template.WELCOME, {"email": "a@example.com", "first_name": None})
