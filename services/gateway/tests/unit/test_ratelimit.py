"""Rate-limit decisions as headers."""

from __future__ import annotations

from empora_gateway.ratelimit import Decision


class TestDecision:
    def test_an_allowed_request_carries_the_ratelimit_headers(self) -> None:
        headers = dict(Decision(True, limit=10, remaining=3, retry_after=1, reset=7).headers())
        assert headers == {
            b"ratelimit-limit": b"10",
            b"ratelimit-remaining": b"3",
            b"ratelimit-reset": b"7",
        }

    def test_a_refused_request_also_says_when_to_retry(self) -> None:
        headers = dict(Decision(False, limit=10, remaining=0, retry_after=2, reset=10).headers())
        assert headers[b"retry-after"] == b"2"
        assert headers[b"ratelimit-remaining"] == b"0"
