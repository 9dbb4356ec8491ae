"""One JSON error shape for every error the app answers.

``{"code": 404, "status": "Not Found", "message": "...", "errors": {"field": ["reason"]}}``
(flask-smorest's shape; ``errors`` is always present, empty when no field is at
fault). Domain errors map to 404 (not found), 409 (concurrent change) and 422
(any other broken rule, with its field). Anything unexpected is a 500 without
details; bad input never is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Flask
from werkzeug.exceptions import HTTPException, InternalServerError

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


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(domain_errors.DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
