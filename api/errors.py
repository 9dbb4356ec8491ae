"""One JSON error shape for every error the app answers.

``{"code": 404, "status": "Not Found", "message": "...", "errors": {"field": ["reason"]}}``
(flask-smorest's shape; ``errors`` is always present, empty when no field is at
fault). Domain errors map to 404 (not found), 409 (concurrent change) and 422
(any other broken rule, with its field). Anything unexpected is a 500 without
details; bad input never is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Flask
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.serving import WSGIRequestHandler

from domain import errors as domain_errors

log = logging.getLogger("framdrift.api")

# webargs reports errors per location ({"query": {"page": [...]}}); we report per field.
_LOCATIONS = ("query", "querystring", "headers", "json", "form", "files", "cookies", "path",
              "view_args")


class ErrorSchema(ma.Schema):
    """The error payload (documentation; the handler builds it)."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status name"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), required=True,
        metadata={"description": "Reasons per field (empty when no field is at fault)"},
    )


def field_errors(raw: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten webargs/marshmallow errors to ``{field: [reason, ...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            key = str(key)
            if not prefix and key in _LOCATIONS and isinstance(value, Mapping):
                name = ""
            else:
                name = f"{prefix}.{key}" if prefix else key
            for k, v in field_errors(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(raw, (list, tuple)):
        for item in raw:
            if isinstance(item, (Mapping, list, tuple)):
                for k, v in field_errors(item, prefix).items():
                    out.setdefault(k, []).extend(v)
            else:
                out.setdefault(prefix or "_request", []).append(str(item))
    elif raw is not None:
        out.setdefault(prefix or "_request", []).append(str(raw))
    return out


def error_response(
    code: int, message: str, errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None, status: str | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    from werkzeug.http import HTTP_STATUS_CODES

    payload = {
        "code": code,
        "status": status or HTTP_STATUS_CODES.get(code, "Error"),
        "message": message,
        "errors": dict(errors or {}),
    }
    return payload, code, dict(headers or {})


def handle_http_exception(error: HTTPException) -> Any:
    if error.code is None:  # a RequestRedirect or similar: not an error
        return error
    data = getattr(error, "data", None) or {}
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    raw_errors = data.get("errors", data.get("messages"))
    message = data.get("message")
    if not message:
        if raw_errors and error.code == 422:
            message = "The request has invalid values; see errors."
        else:
            message = error.description or error.name
    if isinstance(error, InternalServerError) and not data.get("message"):
        message = "Something went wrong on our side; it has been logged."
    return error_response(error.code, message, field_errors(raw_errors), headers, error.name)


def handle_domain_error(error: domain_errors.DomainError) -> Any:
    if isinstance(error, domain_errors.NotFoundError):
        code = 404
    elif isinstance(error, domain_errors.ConcurrentChangeError):
        code = 409
    else:
        code = 422
    field = error.field or "_request"
    return error_response(code, error.message, {field: [error.message]})


def handle_unexpected(error: Exception) -> Any:
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "Something went wrong on our side; it has been logged.")


API_PREFIX = b"/api/v1"
_SERVER_MESSAGES = {
    400: "The request line is malformed.",
    414: "The request line is too long (at most 65536 bytes, query string included).",
    431: "A request header is too long, or there are too many headers (at most 100).",
}


class ApiErrorRequestHandler(WSGIRequestHandler):
    """The development server's (``framdrift serve``) own errors in the API's shape.

    werkzeug's server refuses some requests before the app sees them — 414 for a request
    line over 64 KiB, 431 for a header line over 64 KiB or more than 100 headers, 400 for a
    malformed request line — with an HTML page. Under ``/api/v1`` they are answered with
    the JSON error of every other API answer (``{"code", "status", "message", "errors"}``);
    elsewhere as before."""

    def _for_api(self) -> bool:
        raw = getattr(self, "raw_requestline", b"") or b""
        parts = raw.split(b" ", 2)
        target = parts[1] if len(parts) > 1 else b""
        if b"://" in target[:16]:  # absolute form: http://host/path
            target = b"/" + target.split(b"/", 3)[-1]
        return target == API_PREFIX or target.startswith((API_PREFIX + b"/",
                                                          API_PREFIX + b"?"))

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        if not self._for_api():
            super().send_error(code, message, explain)
            return
        reason = message or self.responses.get(code, ("Error", ""))[0]
        payload, _code, _headers = error_response(
            code, _SERVER_MESSAGES.get(code, reason), {"_request": [reason]})
        body = json.dumps(payload).encode("utf-8")
        self.log_error("code %d, message %s", code, reason)
        self.send_response(code)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(domain_errors.DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
