"""A small, self-contained HTML rendering of the OpenAPI description (no CDN, no JS)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template_string

bp = Blueprint("api_docs_html", __name__, url_prefix="/api/v1")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ spec.info.title }} {{ spec.info.version }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;
line-height:1.4}
code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.5rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left}
h2{border-top:1px solid #ddd;padding-top:1rem}
</style></head><body>
<h1>{{ spec.info.title }} <small>v{{ spec.info.version }}</small></h1>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI {{ spec.openapi }}).</p>
<pre>{{ spec.info.description }}</pre>
{% for path, ops in spec.paths.items() %}
{% for method, op in ops.items() if method != "parameters" %}
<h2><code>{{ method|upper }} {{ path }}</code></h2>
<p>{{ op.summary or "" }}</p>{% if op.description %}<pre>{{ op.description }}</pre>{% endif %}
{% set params = (ops.parameters or []) + (op.parameters or []) %}
{% if params %}<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>
{% for p in params %}<tr><td><code>{{ p.name }}</code></td><td>{{ p["in"] }}</td>
<td>{{ p.schema.type if p.schema else "" }}
{%- if p.schema and p.schema.enum %}: {{ p.schema.enum|join(", ") }}{% endif %}</td>
<td>{{ p.description or "" }}</td></tr>{% endfor %}</table>{% endif %}
<p>Responses: {% for code, r in op.responses.items() %}<code>{{ code }}</code> {% endfor %}</p>
{% endfor %}{% endfor %}
</body></html>
"""


@bp.get("/docs")
def docs() -> Any:
    api = current_app.extensions["framdrift_api"]
    return render_template_string(_PAGE, spec=api.spec.to_dict())
