"""``GET /verify-email`` and ``GET /reset-password``: where the emailed links land.

The links of API.md are ``{PUBLIC_BASE_URL}/verify-email?token=...`` and
``{PUBLIC_BASE_URL}/reset-password?token=...``. A storefront normally owns those pages; when
``PUBLIC_BASE_URL`` points at the gateway (the local default) these small pages let a newcomer
finish the flow in a browser. Opening a page changes nothing (mail scanners prefetch links):
the visitor presses the button, and the page calls the public API. Self-contained under a
strict CSP, like the docs page: one inline script and one stylesheet allowed by their hashes.
"""

from __future__ import annotations

import base64
import hashlib

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:420px;margin:64px auto;background:#fff;border:1px solid #d7dbe2;
border-radius:8px;padding:24px 28px}
h1{font-size:21px;margin:0 0 12px}label{display:block;margin:12px 0 4px}
input{width:100%;box-sizing:border-box;padding:8px;font-size:15px}
button{margin-top:16px;padding:9px 16px;font-size:15px;border:0;border-radius:6px;
background:#2e9b5f;color:#fff;cursor:pointer}button:disabled{opacity:.6}
#result{margin-top:16px}.ok{color:#2e7d32}.error{color:#c53d3d}
"""

SCRIPT = """
(function () {
  'use strict';
  var form = document.getElementById('form');
  var result = document.getElementById('result');
  var token = new URLSearchParams(window.location.search).get('token') || '';
  function show(text, cls) { result.textContent = text; result.className = cls; }
  if (!token) { show('This link has no token. Open the link from your email again.', 'error'); }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var kind = form.getAttribute('data-kind');
    var body = { token: token };
    if (kind === 'reset') { body.new_password = document.getElementById('password').value; }
    var button = form.querySelector('button');
    button.disabled = true;
    fetch(kind === 'reset' ? '/api/auth/reset-password' : '/api/auth/verify-email', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.ok) {
          show(kind === 'reset' ? 'Your password has been changed. You can sign in now.'
                                : 'Thank you, your email address is confirmed.', 'ok');
          form.querySelectorAll('input, button').forEach(function (e) { e.disabled = true; });
        } else {
          var msg = data.detail || data.title || ('Error ' + resp.status);
          if (data.errors && data.errors.length) { msg = data.errors[0].message; }
          show(msg, 'error');
          button.disabled = false;
        }
      });
    }).catch(function () { show('The server could not be reached.', 'error');
                           button.disabled = false; });
  });
})();
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title} · Empora</title>
<link rel="icon" href="data:,">
<style>{style}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<form id="form" data-kind="{kind}">
{fields}
<button type="submit">{button}</button>
</form>
<p id="result" role="status"></p>
</main>
<script>{script}</script>
</body>
</html>
"""


def _digest(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def _page(title: str, kind: str, fields: str, button: str) -> bytes:
    return (
        _PAGE.replace("{title}", title)
        .replace("{kind}", kind)
        .replace("{fields}", fields)
        .replace("{button}", button)
        .replace("{style}", STYLE)
        .replace("{script}", SCRIPT)
        .encode()
    )


VERIFY_EMAIL_HTML: bytes = _page(
    "Confirm your email address", "verify", "<p>Press the button to confirm it.</p>", "Confirm"
)
RESET_PASSWORD_HTML: bytes = _page(
    "Choose a new password",
    "reset",
    '<label for="password">New password (8 to 128 characters)</label>\n'
    '<input id="password" type="password" minlength="8" maxlength="128" required '
    'autocomplete="new-password">',
    "Change password",
)

ACCOUNT_CSP: str = (
    "default-src 'none'; "
    f"script-src {_digest(SCRIPT)}; "
    f"style-src {_digest(STYLE)}; "
    "connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
