"""``GET /api/docs``: a self-contained API reference page under a strict CSP.

Swagger UI would come from a CDN (unreachable offline, and a third party in the page's
trust); this page needs no external asset. Its one script and one stylesheet are inline and
allowed by their SHA-256 hashes, so nothing else can run.
"""

from __future__ import annotations

import base64
import hashlib

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
#filter{width:100%;padding:8px;font-size:15px;margin:8px 0 16px;box-sizing:border-box}
h2{margin:24px 0 8px;font-size:17px;border-bottom:1px solid #d7dbe2;padding-bottom:4px}
details{background:#fff;border:1px solid #d7dbe2;border-radius:6px;margin:6px 0}
summary{cursor:pointer;padding:8px 10px;display:flex;gap:10px;align-items:center}
.m{font:bold 12px monospace;color:#fff;border-radius:4px;padding:3px 0;width:62px;
text-align:center}
.get{background:#2f7bd9}.post{background:#2e9b5f}.put{background:#b7791f}
.patch{background:#8a5cd1}.delete{background:#c53d3d}.head,.options{background:#667}
code,pre{font:13px ui-monospace,monospace}
pre{background:#f0f2f5;padding:8px;border-radius:4px;overflow:auto;max-height:360px}
.body{padding:0 12px 12px}.muted{color:#667}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:3px 8px;
border-bottom:1px solid #eee;vertical-align:top}
"""

SCRIPT = """
(function () {
  'use strict';
  var root = document.getElementById('ops');
  var filter = document.getElementById('filter');
  var spec = null;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function resolve(schema, depth) {
    if (!schema || depth > 6) { return schema; }
    if (schema.$ref) {
      var parts = schema.$ref.replace('#/', '').split('/');
      var node = spec;
      parts.forEach(function (p) { node = node ? node[p] : undefined; });
      return resolve(node, depth + 1);
    }
    var out = Array.isArray(schema) ? [] : {};
    Object.keys(schema).forEach(function (k) {
      var v = schema[k];
      out[k] = (v && typeof v === 'object') ? resolve(v, depth + 1) : v;
    });
    return out;
  }
  function block(title, value) {
    var wrap = el('div');
    wrap.appendChild(el('h4', null, title));
    wrap.appendChild(el('pre', null, JSON.stringify(value, null, 2)));
    return wrap;
  }
  function operation(path, method, op) {
    var d = el('details');
    d.dataset.search = (method + ' ' + path + ' ' + (op.summary || '')).toLowerCase();
    var s = el('summary');
    s.appendChild(el('span', 'm ' + method, method.toUpperCase()));
    s.appendChild(el('code', null, path));
    s.appendChild(el('span', 'muted', op.summary || ''));
    d.appendChild(s);
    var body = el('div', 'body');
    if (op.description) { body.appendChild(el('p', null, op.description)); }
    if (op.parameters && op.parameters.length) {
      var t = el('table');
      var head = el('tr');
      ['name', 'in', 'required', 'schema'].forEach(function (h) {
        head.appendChild(el('th', null, h));
      });
      t.appendChild(head);
      op.parameters.forEach(function (p) {
        p = resolve(p, 0);
        var r = el('tr');
        r.appendChild(el('td', null, p.name));
        r.appendChild(el('td', null, p['in']));
        r.appendChild(el('td', null, p.required ? 'yes' : 'no'));
        r.appendChild(el('td', null, JSON.stringify(p.schema || {})));
        t.appendChild(r);
      });
      body.appendChild(el('h4', null, 'Parameters'));
      body.appendChild(t);
    }
    if (op.requestBody) {
      var content = op.requestBody.content || {};
      Object.keys(content).forEach(function (type) {
        body.appendChild(block('Request body (' + type + ')', resolve(content[type].schema, 0)));
      });
    }
    Object.keys(op.responses || {}).forEach(function (code) {
      var resp = resolve(op.responses[code], 0) || {};
      var content = resp.content || {};
      var types = Object.keys(content);
      if (types.length) {
        var schema = resolve(content[types[0]].schema, 0);
        body.appendChild(block(code + ' ' + (resp.description || ''), schema));
      } else {
        body.appendChild(el('h4', null, code + ' ' + (resp.description || '')));
      }
    });
    d.appendChild(body);
    return d;
  }
  function render() {
    root.textContent = '';
    var groups = {};
    Object.keys(spec.paths || {}).forEach(function (path) {
      var item = spec.paths[path];
      Object.keys(item).forEach(function (method) {
        var op = item[method];
        if (!op || typeof op !== 'object' || !op.responses) { return; }
        var tag = (op.tags && op.tags[0]) || path.split('/')[2] || 'other';
        (groups[tag] = groups[tag] || []).push(operation(path, method, op));
      });
    });
    Object.keys(groups).sort().forEach(function (tag) {
      root.appendChild(el('h2', null, tag));
      groups[tag].forEach(function (d) { root.appendChild(d); });
    });
    var missing = (spec.info || {})['x-empora-unavailable'];
    if (missing && missing.length) {
      var note = el('p', 'muted', 'Unavailable right now: ' + missing.join(', '));
      root.insertBefore(note, root.firstChild);
    }
  }
  filter.addEventListener('input', function () {
    var q = filter.value.toLowerCase();
    root.querySelectorAll('details').forEach(function (d) {
      d.style.display = d.dataset.search.indexOf(q) >= 0 ? '' : 'none';
    });
  });
  fetch('/api/openapi.json', {headers: {'Accept': 'application/json'}})
    .then(function (r) { return r.json(); })
    .then(function (doc) { spec = doc; render(); })
    .catch(function (e) { root.textContent = 'Could not load the API description: ' + e; });
})();
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Empora API</title>
<link rel="icon" href="data:,">
<style>{style}</style>
</head>
<body>
<header><h1>Empora API</h1></header>
<main>
<p>Every public route, through the gateway. Machine-readable:
<a href="/api/openapi.json">/api/openapi.json</a>.</p>
<input id="filter" type="search" placeholder="Filter routes" aria-label="Filter routes">
<div id="ops">Loading…</div>
</main>
<script>{script}</script>
</body>
</html>
"""


def _digest(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


DOCS_HTML: bytes = _PAGE.replace("{style}", STYLE).replace("{script}", SCRIPT).encode()

DOCS_CSP: str = (
    "default-src 'none'; "
    f"script-src {_digest(SCRIPT)}; "
    f"style-src {_digest(STYLE)}; "
    "connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
