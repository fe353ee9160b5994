"""The docs page and its CSP."""

from __future__ import annotations

import base64
import hashlib

from empora_gateway.docs import DOCS_CSP, DOCS_HTML, SCRIPT, STYLE


class TestDocsPage:
    def test_the_csp_allows_exactly_the_inline_script_and_style(self) -> None:
        for source in (SCRIPT, STYLE):
            digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in DOCS_CSP
            assert source.encode() in DOCS_HTML
        assert "'unsafe-inline'" not in DOCS_CSP
        assert "default-src 'none'" in DOCS_CSP

    def test_the_page_loads_nothing_from_elsewhere(self) -> None:
        assert b"https://" not in DOCS_HTML
        assert b"http://" not in DOCS_HTML
