"""Server-rendered pages. For now only a landing page at ``/`` (to be replaced)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)

_LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Framdrift</title></head>
<body>
<h1>Framdrift</h1>
<p>The event-sourced action-research log.</p>
<ul>
<li><a href="/api/v1/docs">API documentation</a> (JSON API for evaluators and researchers)</li>
<li><a href="/api/v1/openapi.json">OpenAPI description</a></li>
<li><a href="/readyz">Readiness</a></li>
</ul>
</body></html>
"""


@bp.get("/")
def index() -> tuple[str, int, dict[str, str]]:
    return _LANDING, 200, {"Content-Type": "text/html; charset=utf-8"}
