"""Helpers of the inbox page."""

from __future__ import annotations

from empora_notification.sink.web import html_frame, linkify


class TestLinkify:
    def test_turns_urls_into_links_and_escapes_the_rest(self) -> None:
        html = linkify('<b>Open</b> https://shop.test/verify-email?token=a&b=1 "now"')

        assert str(html) == (
            "&lt;b&gt;Open&lt;/b&gt; "
            '<a href="https://shop.test/verify-email?token=a&amp;b=1">'
            "https://shop.test/verify-email?token=a&amp;b=1</a> &#34;now&#34;"
        )

    def test_empty_text_gives_empty_markup(self) -> None:
        assert str(linkify(None)) == ""


class TestHtmlFrame:
    def test_links_of_the_html_part_open_in_a_new_tab(self) -> None:
        assert html_frame("<a href='x'>x</a>").startswith('<base target="_blank">')
