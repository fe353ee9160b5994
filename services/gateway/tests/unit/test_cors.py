"""CORS decisions from configuration."""

from __future__ import annotations

from empora_gateway.cors import CorsPolicy


class TestCorsPolicy:
    def test_wildcard_allows_every_origin_without_credentials(self) -> None:
        policy = CorsPolicy(["*"], allow_credentials=True, max_age=60)
        headers = dict(policy.response_headers(b"https://a.example"))
        assert policy.allowed(b"https://anything.example")
        assert headers[b"access-control-allow-origin"] == b"*"
        assert b"access-control-allow-credentials" not in headers

    def test_explicit_origins_are_echoed_with_credentials(self) -> None:
        policy = CorsPolicy(["https://a.example/"], allow_credentials=True, max_age=60)
        headers = dict(policy.response_headers(b"https://a.example"))
        assert headers[b"access-control-allow-origin"] == b"https://a.example"
        assert headers[b"access-control-allow-credentials"] == b"true"
        assert not policy.allowed(b"https://b.example")

    def test_no_origins_disables_cors(self) -> None:
        policy = CorsPolicy([], allow_credentials=False, max_age=60)
        assert not policy.enabled
        assert not policy.allowed(b"https://a.example")

    def test_preflight_echoes_plain_header_names_only(self) -> None:
        policy = CorsPolicy(["*"], allow_credentials=False, max_age=60)
        good = dict(policy.preflight_headers(b"o", b"Authorization, X-Cart-Token"))
        assert good[b"access-control-allow-headers"] == b"Authorization, X-Cart-Token"
        assert good[b"access-control-max-age"] == b"60"
        bad = dict(policy.preflight_headers(b"o", b"x\r\nSet-Cookie: a"))
        assert b"Set-Cookie" not in bad[b"access-control-allow-headers"]
