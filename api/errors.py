"""One error document for every error the app answers: RFC 9457 problem details.

Every API error is ``application/problem+json``::

    {"type": "/api/v1/problems/not-found", "title": "Not found", "status": 404,
     "detail": "No programme 0d3c....", "instance": "/api/v1/programmes/0d3c...",
     "errors": {"programme_id": ["unknown programme"]}}

- ``type`` is a relative URI, the same string on every deployment (compare it as it is);
  resolved against the request's address it is a page that explains the problem
  (``/api/v1/problems/<slug>``, :data:`PROBLEM_TYPES`). A status with no type of its
  own has ``about:blank`` and the status's name as ``title`` (RFC 9457, 4.2.1).
- ``title`` is fixed per type; ``detail`` says what went wrong this time; ``instance``
  is the path that was asked for (without its query string).
- ``errors`` (our extension) holds the reasons per field, ``{"field": ["reason"]}``;
  always present, empty when no field is at fault.

Domain errors map to 404 (not found), 409 (concurrent change) and 422 (any other broken
rule, with its field). Anything unexpected is a 500 without details; bad input never is.
The web pages keep their HTML error pages (``api.web.setup``); an unknown address asked
for by something other than a browser gets a problem document.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Flask, current_app, has_request_context, request
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import UUIDConverter
from werkzeug.serving import WSGIRequestHandler

from domain import errors as domain_errors

log = logging.getLogger("framdrift.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/api/v1/problems/"

# webargs reports errors per location ({"query": {"page": [...]}}); we report per field.
_LOCATIONS = ("query", "querystring", "headers", "json", "form", "files", "cookies", "path",
              "view_args")


@dataclass(frozen=True)
class ProblemType:
    """A kind of problem: its status, fixed title, and what it means (English, Swedish)."""

    slug: str
    status: int
    title: str
    about_en: str
    about_sv: str

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug


_TYPES = [
    ProblemType("bad-request", 400, "Bad request",
                "The request could not be understood: a malformed request line, a query "
                "string that is not valid UTF-8, or a body that is not what the address "
                "takes.",
                "Begäran gick inte att förstå: en felaktig begäransrad, en frågesträng som "
                "inte är giltig UTF-8 eller en kropp som adressen inte tar emot."),
    ProblemType("unauthorized", 401, "Authentication required",
                "Send an API token as 'Authorization: Bearer fd_...'. Ask a researcher for "
                "one ('framdrift tokens create --role evaluator'). A token that is unknown, "
                "revoked or malformed is refused the same way. Tokens are accepted only "
                "under /api/v1.",
                "Skicka en API-nyckel som 'Authorization: Bearer fd_...'. Be en forskare om "
                "en ('framdrift tokens create --role evaluator'). En okänd, återkallad eller "
                "felformad nyckel nekas på samma sätt. Nycklar gäller bara under /api/v1."),
    ProblemType("forbidden", 403, "Forbidden",
                "The token is valid but its role may not do this (e.g. an evaluator token "
                "asking for the token list), or a token was used to write: tokens only "
                "read.",
                "Nyckeln är giltig men dess roll får inte göra detta (t.ex. en "
                "utvärderarnyckel som frågar efter nyckellistan), eller så användes en "
                "nyckel för att skriva: nycklar kan bara läsa."),
    ProblemType("not-found", 404, "Not found",
                "Nothing is at this address, or the programme or record named in it does "
                "not exist (or is hidden because its participant withdrew consent). "
                "'errors' names the parameter.",
                "Det finns inget på adressen, eller så finns inte utbildningsinsatsen eller "
                "posten som den pekar på (eller så är den dold för att deltagaren har dragit "
                "tillbaka sitt samtycke). 'errors' anger parametern."),
    ProblemType("method-not-allowed", 405, "Method not allowed",
                "The API only reads: use GET (or HEAD). The 'Allow' header lists the "
                "methods the address takes.",
                "API:et kan bara läsa: använd GET (eller HEAD). Huvudet 'Allow' anger vilka "
                "metoder adressen tar emot."),
    ProblemType("not-acceptable", 406, "Not acceptable",
                "None of the media types in 'Accept' can be given here.",
                "Ingen av medietyperna i 'Accept' kan ges här."),
    ProblemType("conflict", 409, "Conflict",
                "The request conflicts with the current state.",
                "Begäran står i konflikt med det nuvarande läget."),
    ProblemType("position-beyond-log", 409, "The log has no such position yet",
                "min_position (or X-Framdrift-Min-Position) names a position the event log "
                "has not reached. It is answered at once, not waited for: a position a "
                "write returned is never beyond the log.",
                "min_position (eller X-Framdrift-Min-Position) anger en position som "
                "händelseloggen inte har nått. Svaret kommer direkt utan väntan: en position "
                "som en skrivning har returnerat ligger aldrig bortom loggen."),
    ProblemType("concurrent-change", 409, "Changed meanwhile",
                "Someone else changed the same thing since it was read; nothing was "
                "recorded. Read it again and retry.",
                "Någon annan ändrade samma sak efter att den lästes; inget sparades. Läs om "
                "och försök igen."),
    ProblemType("payload-too-large", 413, "Payload too large",
                "The request body is larger than the server takes (1 MiB).",
                "Begärans kropp är större än servern tar emot (1 MiB)."),
    ProblemType("uri-too-long", 414, "URI too long",
                "The address is too long: a query string under /api/v1 may have at most "
                "8192 bytes.",
                "Adressen är för lång: en frågesträng under /api/v1 får ha högst 8192 byte."),
    ProblemType("unsupported-media-type", 415, "Unsupported media type",
                "The body's Content-Type is not one this address takes.",
                "Kroppens Content-Type är inte en som adressen tar emot."),
    ProblemType("invalid-parameters", 422, "Invalid parameters",
                "A parameter has a value the address does not take (e.g. page=0, an unknown "
                "sort key, a date that does not exist). 'errors' names each parameter and "
                "why.",
                "En parameter har ett värde som adressen inte tar emot (t.ex. page=0, en "
                "okänd sorteringsnyckel, ett datum som inte finns). 'errors' anger varje "
                "parameter och varför."),
    ProblemType("too-many-requests", 429, "Too many requests",
                "Too many attempts from this address; wait a minute.",
                "För många försök från den här adressen; vänta en minut."),
    ProblemType("headers-too-large", 431, "Request header fields too large",
                "A request header is too long, or the request line and headers together are "
                "too large.",
                "Ett huvud i begäran är för långt, eller så är begäransraden och huvudena "
                "tillsammans för stora."),
    ProblemType("server-error", 500, "Internal server error",
                "Something went wrong on our side; it has been logged. Nothing you sent "
                "causes this: tell the researchers if it persists.",
                "Något gick fel hos oss; det har loggats. Inget du skickade orsakar detta: "
                "säg till forskarna om det fortsätter."),
    ProblemType("service-unavailable", 503, "Service unavailable",
                "The service is not ready (the database does not answer, or the app is "
                "restarting); try again after 'Retry-After' seconds.",
                "Tjänsten är inte redo (databasen svarar inte, eller appen startar om); "
                "försök igen efter 'Retry-After' sekunder."),
    ProblemType("position-not-reached", 503, "Read models not there yet",
                "The read models did not reach min_position within the wait (5 s by "
                "default). 'X-Framdrift-Position' says where they are; retry after "
                "'Retry-After' seconds.",
                "Läsmodellerna nådde inte min_position inom väntetiden (normalt 5 s). "
                "'X-Framdrift-Position' anger var de är; försök igen efter 'Retry-After' "
                "sekunder."),
]
PROBLEM_TYPES: dict[str, ProblemType] = {t.slug: t for t in _TYPES}
_BY_STATUS: dict[int, ProblemType] = {}
for _t in _TYPES:
    _BY_STATUS.setdefault(_t.status, _t)  # the first of a status is its general type


def problem_type(status: int, slug: str | None = None) -> ProblemType | None:
    """The type of a problem: ``slug``'s when given and known, else the status's own."""
    if slug and slug in PROBLEM_TYPES and PROBLEM_TYPES[slug].status == status:
        return PROBLEM_TYPES[slug]
    return _BY_STATUS.get(status)


class ProblemSchema(ma.Schema):
    """An error: RFC 9457 problem details plus the reasons per field."""

    type = ma.fields.String(required=True, metadata={
        "description": "What kind of problem: a relative URI, the same on every "
                       "deployment; resolved against the request's address it is a page "
                       "explaining it. 'about:blank' when the status says it all.",
        "format": "uri-reference", "example": "/api/v1/problems/not-found"})
    title = ma.fields.String(required=True, metadata={
        "description": "A short summary of the kind of problem (the same for every "
                       "occurrence of a type).", "example": "Not found"})
    status = ma.fields.Integer(required=True, metadata={
        "description": "The HTTP status code.", "example": 404})
    detail = ma.fields.String(required=True, metadata={
        "description": "What went wrong this time.",
        "example": "No programme 9d5e1c2a-0000-4000-8000-000000000000."})
    instance = ma.fields.String(metadata={
        "description": "The path that was asked for (without its query string).",
        "format": "uri-reference",
        "example": "/api/v1/programmes/9d5e1c2a-0000-4000-8000-000000000000"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), required=True,
        metadata={"description": "Reasons per field or parameter (empty when no field is "
                                 "at fault; '_request' for the request as a whole).",
                  "example": {"programme_id": ["unknown programme"]}},
    )

    class Meta:
        ordered = True


ErrorSchema = ProblemSchema  # documented as the component "Problem"


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


def problem(code: int, detail: str, errors: Mapping[str, list[str]] | None = None, *,
            slug: str | None = None, instance: str | None = None) -> dict[str, Any]:
    """The problem document (a dict) of an error with status ``code``."""
    kind = problem_type(code, slug)
    body: dict[str, Any] = {
        "type": kind.uri if kind else "about:blank",
        "title": kind.title if kind else HTTP_STATUS_CODES.get(code, "Error"),
        "status": code,
        "detail": detail,
    }
    if instance is None and has_request_context():
        instance = request.path
    if instance:
        body["instance"] = instance
    body["errors"] = dict(errors or {})
    return body


def error_response(
    code: int, message: str, errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None, status: str | None = None,
    slug: str | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """``(problem, code, headers)`` for a view or error handler to return: Flask makes the
    JSON and the Content-Type header turns it into ``application/problem+json``.
    (``status``, the old name of the status, is no longer used.)"""
    out = dict(headers or {})
    out["Content-Type"] = PROBLEM_MEDIA_TYPE
    return problem(code, message, errors, slug=slug), code, out


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
    errors = field_errors(raw_errors)
    if error.code == 404 and not errors:
        malformed = malformed_ids()
        if malformed:
            errors = {name: ["not a valid id (a UUID)"] for name in malformed}
            message = (f"The {' and '.join(malformed)} in the address "
                       f"{'is' if len(malformed) == 1 else 'are'} not a valid id (a UUID).")
    return error_response(error.code, message, errors, headers, slug=data.get("problem"))


_UUID_ARGUMENT = re.compile(r"<uuid:(\w+)>")
_ANY_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?(\w+)>")


def _id_routes(app: Flask) -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    """The API's routes with a UUID in the path, each as a pattern that takes any text
    where the UUID goes, with the names of those parameters (built once per app)."""
    cached = app.extensions.get("framdrift_id_routes")
    if cached is None:
        cached = []
        for rule in app.url_map.iter_rules():
            ids = tuple(_UUID_ARGUMENT.findall(rule.rule))
            if not ids or not is_api_target(rule.rule.encode()):
                continue
            parts = _ANY_ARGUMENT.split(rule.rule)  # text, name, text, name, ..., text
            pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
                              for i, part in enumerate(parts))
            cached.append((re.compile(pattern + r"\Z"), ids))
        app.extensions["framdrift_id_routes"] = cached
    return cached


def malformed_ids() -> list[str]:
    """The path parameters that are not UUIDs where an API route takes one, when the
    request's path is such a route but for them (``/api/v1/programmes/xyz/progress``):
    routing found no route, so the 404 would otherwise name no parameter, while a
    well-formed unknown id is a 404 naming it."""
    if not has_request_context() or request.url_rule is not None \
            or not is_api_target(request.path.encode("utf-8", "replace")):
        return []
    for pattern, ids in _id_routes(current_app):
        found = pattern.match(request.path)
        if found is not None:
            # routing's own test: a UUID written as the routes take it (with its hyphens)
            bad = [name for name in ids
                   if not re.fullmatch(UUIDConverter.regex, found.group(name))]
            if bad:
                return bad
    return []


def handle_domain_error(error: domain_errors.DomainError) -> Any:
    slug = None
    if isinstance(error, domain_errors.NotFoundError):
        code = 404
    elif isinstance(error, domain_errors.ConcurrentChangeError):
        code, slug = 409, "concurrent-change"
    else:
        code = 422
    field = error.field or "_request"
    return error_response(code, error.message, {field: [error.message]}, slug=slug)


def store_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached or used just now (refused or
    lost connection, no free connection in the pool, SQLite's lock not granted in time):
    nothing was written, and the same request may well succeed in a moment."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    unavailable: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
    try:
        import psycopg
        import psycopg_pool

        unavailable += (psycopg.OperationalError, psycopg.InterfaceError,
                        psycopg_pool.PoolTimeout, psycopg_pool.TooManyRequests)
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    return isinstance(error, unavailable)


STORE_RETRY_AFTER = "5"


def handle_unexpected(error: Exception) -> Any:
    if store_unavailable(error):
        log.warning("the database is unavailable: %s: %s", type(error).__name__, error)
        return error_response(
            503, "The database does not answer just now; nothing was changed. Try again "
            "after 'Retry-After' seconds.", {"database": ["unavailable"]},
            {"Retry-After": STORE_RETRY_AFTER})
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "Something went wrong on our side; it has been logged.")


API_PREFIX = b"/api/v1"
_SERVER_MESSAGES = {
    400: "The request line is malformed.",
    413: "The request body is too large.",
    414: "The request line is too long (at most 65536 bytes, query string included).",
    431: "A request header is too long, or there are too many headers or too many bytes "
         "of them.",
    500: "Something went wrong on our side; it has been logged.",
}


def target_of(first_line: bytes) -> bytes:
    """The path of a raw request line (``GET /x?y HTTP/1.1``; also the absolute form)."""
    parts = first_line.split(b" ", 2)
    target = parts[1] if len(parts) > 1 else b""
    if b"://" in target[:16]:  # absolute form: http://host/path
        target = b"/" + target.split(b"/", 3)[-1]
    return target


def is_api_target(target: bytes) -> bool:
    return target == API_PREFIX or target.startswith((API_PREFIX + b"/", API_PREFIX + b"?"))


def server_problem(code: int, reason: str, target: bytes) -> bytes:
    """The body of an error a server answers itself (before the app sees the request)."""
    path = target.split(b"?", 1)[0]
    instance = path.decode("latin-1") if 0 < len(path) <= 2048 else None
    payload = problem(code, _SERVER_MESSAGES.get(code, reason), {"_request": [reason]},
                      instance=instance)
    return json.dumps(payload).encode("utf-8")


class StrictQueryParser(FlaskParser):
    """Query parameters an endpoint does not take are a 422 naming them, not ignored: an
    evaluator's ``as_of`` on an endpoint without it (or a misspelt ``wek``) would
    otherwise be answered with today's, unfiltered figures as if they were what was asked."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": ma.RAISE, "querystring": ma.RAISE}


class Blueprint(flask_smorest.Blueprint):
    """The API's blueprints: flask-smorest's, with :class:`StrictQueryParser`."""

    ARGUMENTS_PARSER = StrictQueryParser()


class ApiErrorRequestHandler(WSGIRequestHandler):
    """The development server's (``framdrift serve --dev``) own errors as problems.

    werkzeug's server refuses some requests before the app sees them — 414 for a request
    line over 64 KiB, 431 for a header line over 64 KiB or more than 100 headers, 400 for a
    malformed request line — with an HTML page. Under ``/api/v1`` they are answered with
    the problem document of every other API answer; elsewhere as before."""

    def _target(self) -> bytes:
        return target_of(getattr(self, "raw_requestline", b"") or b"")

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        target = self._target()
        if not is_api_target(target):
            super().send_error(code, message, explain)
            return
        reason = message or self.responses.get(code, ("Error", ""))[0]
        body = server_problem(code, reason, target)
        self.log_error("code %d, message %s", code, reason)
        self.send_response(code)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", PROBLEM_MEDIA_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)


class ProblemResponses:
    """A flask-smorest ``Api`` mixin: the error responses it documents are problems."""

    def _register_responses(self) -> None:
        import http

        from flask_smorest.utils import prepare_response

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304) and status >= 400:
                response["schema"] = self.ERROR_SCHEMA  # type: ignore[attr-defined]
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)  # type: ignore[attr-defined]
            self.spec.components.response(status.name, response, lazy=True)  # type: ignore[attr-defined]
        response = {"description": "Error (RFC 9457 problem details)",
                    "schema": self.ERROR_SCHEMA}  # type: ignore[attr-defined]
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)  # type: ignore[attr-defined]
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(domain_errors.DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
