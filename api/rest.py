"""The JSON API, version 1, under ``/api/v1`` (flask-smorest).

All endpoints are GET and read-only, for evaluators and researchers with an API
token (``Authorization: Bearer fd_...``). The OpenAPI 3 description is generated
from the code at ``/api/v1/openapi.json``; a CDN-free HTML rendering of it is at
``/api/v1/docs``.

Conventions (every endpoint):

- ``X-Framdrift-Position``: the log position the read models had reached when the
  answer was read (a lower bound of what it reflects).
- ``ETag`` on every 200; ``If-None-Match`` with a current ETag gives 304. Under
  ``/programmes`` the ETag comes from how far the read models have got with that
  programme (``projections.queries.version``), read before the answer is computed: a
  304 costs two index reads, not the query.
- Paging: ``/programmes`` by cursor (``limit``, ``cursor``; ``next`` in the body and
  ``Link: <...>; rel="next"``), the timeline by ``page`` / ``page_size``.
- Read-your-writes: ``?min_position=N`` (or ``X-Framdrift-Min-Position: N``) waits up
  to ``FRAMDRIFT_MIN_POSITION_WAIT`` seconds (default 5) for the read models to reach
  N; if they do not, 503 with ``Retry-After: 1``. A position beyond the end of the log
  is not waited for: 409 Conflict at once (the request is well formed, but the log has
  not got there; a position a write returned is never beyond it).
- Names beside keys: every key (``theme``, ``unit``, ``kind``, ``event_type``, ``stage``,
  ``outcome``, ``role``, ``dimension``, ...) keeps its value and has a sibling
  ``<field>_label`` with its name, of the same shape (a list for a list, null for null);
  labels and ``summary`` are in the language of ``?lang=sv|en``, else of
  ``Accept-Language``, else Swedish (told in ``Content-Language``).
- Exports (``timeline``): ``format=csv`` (UTF-8 with a byte-order mark; ``sep=semicolon``
  for Excel in a Swedish locale), ``format=xlsx`` (typed cells, frozen header) or
  ``format=ndjson``; the file name says the programme, what and as of when.
- Errors: ``application/problem+json`` (RFC 9457: ``type``, ``title``, ``status``,
  ``detail``, ``instance``) plus ``errors``: ``{field: [reasons]}`` (``api.errors``). A
  query parameter the operation does not take (``as_of`` where there is none, a misspelt
  ``wek``) is a 422 naming it, never silently ignored; a ``unit`` or ``week`` filter the
  programme does not have is a 404 naming it (and what it has), not an empty page.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes, urlencode
from uuid import UUID

from flask import Flask, Response, current_app, g, request, url_for
from flask_smorest import Api, abort
from werkzeug.exceptions import HTTPException

from api import readmodels, spreadsheet
from api import schemas as s
from api.app import framdrift_app
from api.auth import READERS, current_principal, require_role
from api.errors import PROBLEM_MEDIA_TYPE, Blueprint, ErrorSchema, ProblemResponses
from api.web.labels import (
    Labeller,
    dimension_names,
    labelled_columns,
    pick_language,
    unit_names,
)

PREFIX = "/api/v1"
POSITION_HEADER = "X-Framdrift-Position"
MIN_POSITION_HEADER = "X-Framdrift-Min-Position"
DEFAULT_PAGE_SIZE = 50
EXPORT_CHUNK = 1000

DESCRIPTION = (__doc__ or "").split("\n", 1)[1].strip()


class FramdriftApi(ProblemResponses, Api):
    ERROR_SCHEMA = ErrorSchema


blp = Blueprint(
    "api_v1", __name__, url_prefix=PREFIX,
    description="Read models of action-research programmes (pseudonymous; no names).",
)


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Framdrift API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = FramdriftApi(app, spec_kwargs={
        "info": {"description": DESCRIPTION},
        "security": [{"bearerAuth": []}],
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "An API token from `framdrift tokens create`."},
    )
    api.register_blueprint(blp)
    app.extensions["framdrift_api"] = api
    from api import docs

    app.register_blueprint(docs.bp)
    app.before_request(_check_query_string)
    app.after_request(_api_headers)


# -- cross-cutting -------------------------------------------------------------------------

MAX_QUERY_STRING = 8192


def _check_query_string() -> None:
    """/api/v1 query strings: at most 8 KiB (else 414) of valid UTF-8 (else 400; werkzeug
    would silently turn bad bytes and encoded lone surrogates into U+FFFD)."""
    if not request.path.startswith(PREFIX + "/"):
        return
    raw = request.query_string
    if len(raw) > MAX_QUERY_STRING:
        abort(414, message=f"The query string is longer than {MAX_QUERY_STRING} bytes.",
              errors={"_query": ["too long"]})
    try:
        for part in raw.split(b"&"):
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        abort(400, message="The query string is not valid UTF-8 (or encodes a lone "
                           "surrogate).", errors={"_query": ["not valid UTF-8"]})



def _api_headers(response: Response) -> Response:
    """Position, ETag/304 and caching headers on every /api/v1 answer."""
    path = request.path
    if not path.startswith(PREFIX + "/") or path == f"{PREFIX}/openapi.json" or \
            path.startswith((f"{PREFIX}/docs", f"{PREFIX}/problems")):  # documentation
        return response
    if POSITION_HEADER not in response.headers:
        try:
            response.headers[POSITION_HEADER] = str(readmodels.position())
        except Exception:  # noqa: BLE001 - no position to tell (store or read models down)
            current_app.logger.debug("no read model position for %s", path)
    response.vary.update(("Authorization", "Accept", "Accept-Language", MIN_POSITION_HEADER))
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers.setdefault("Content-Language", language())  # of labels, summaries
        if g.get("framdrift_etag"):  # see conditional(): known before the answer was made
            response.set_etag(g.framdrift_etag)
        if not response.is_streamed:
            response.add_etag(overwrite=False)
            response.make_conditional(request)
    return response


def consistent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Honour ``min_position`` (query) / ``X-Framdrift-Min-Position`` (header).

    Sits inside ``@blp.arguments``: takes ``min_position`` out of the parsed query.
    """

    @functools.wraps(view)
    def wrapper(args: dict[str, Any], *a: Any, **kw: Any) -> Any:
        wanted = args.pop("min_position", None)
        header = request.headers.get(MIN_POSITION_HEADER)
        if header is not None:
            text = header.strip()
            if not re.fullmatch(r"[0-9]{1,19}", text) or int(text) > s.MAX_POSITION:
                abort(422, message="The request has invalid values; see errors.",
                      errors={MIN_POSITION_HEADER: ["Not a valid log position."]})
            wanted = max(wanted or 0, int(text))
        if wanted:
            head = framdrift_app().max_position()
            if wanted > head:
                abort(409, message=(f"The log has no position {wanted} yet (it ends at "
                                    f"{head}); ask again once it has, or with a position "
                                    "a write returned."),
                      errors={"min_position": [f"beyond the end of the log ({head})"]},
                      problem="position-beyond-log")
            timeout = float(current_app.config["MIN_POSITION_WAIT"])
            reached = readmodels.wait_for(wanted, timeout)
            if reached < wanted:
                abort(503, message=(f"The read models are at position {reached}, not yet at "
                                    f"{wanted}; try again shortly."),
                      errors={"min_position": [f"not reached within {timeout:g} s"]},
                      headers={"Retry-After": "1", POSITION_HEADER: str(reached)},
                      problem="position-not-reached")
        else:
            _read_state(kw.get("programme_id"))
        return view(args, *a, **kw)

    return wrapper


def _read_state(programme_id: Any) -> None:
    """The read models' position with the version the ETag needs, in one read (ADR 0023);
    the position alone if the version cannot be read (its ETag then hashes the body)."""
    try:
        readmodels.state(_pid(programme_id) if programme_id is not None else None)
    except HTTPException:
        raise
    except Exception:  # noqa: BLE001 - no version to read: as before, the position alone
        readmodels.position()


def conditional(view: Callable[..., Any]) -> Callable[..., Any]:
    """ETag and ``If-None-Match`` WITHOUT computing the answer.

    Sits inside :func:`consistent` (after any wait for ``min_position``). The ETag is a
    hash of ``queries.version`` (the programme's last event the read models have applied,
    or for the list how far they have got), the path, the query string, the language,
    ``Accept`` and the caller's role: everything the answer depends on. It is read before
    the answer, so an answer is never older than its ETag. A matching ``If-None-Match``
    gets 304 at once; the view is not called.
    """

    @functools.wraps(view)
    def wrapper(args: dict[str, Any], *a: Any, **kw: Any) -> Any:
        tag = _etag(kw.get("programme_id"))
        if tag is not None:
            g.framdrift_etag = tag
            if request.if_none_match.contains_weak(tag):
                response = Response(status=304)
                response.set_etag(tag)
                response.headers["Cache-Control"] = "private, no-cache"
                return response
        return view(args, *a, **kw)

    return wrapper


ANSWERS_CACHE = 1024  # answers kept per process under their ETags (a few KB each)
_answers_lock = threading.Lock()


def remembered(view: Callable[..., Any]) -> Callable[..., Any]:
    """A 200 kept per process under its ETag, and given again for the same ETag (ADR 0026).

    Sits inside :func:`conditional`. The ETag names everything the answer depends on (the
    programme's version in the read models, path, query, language, ``Accept``, role): the
    same ETag is the same answer, as a 304 already tells a client that has it. Only for
    answers without personal data (``/progress``: counts and the programme's names; an
    erasure need not change a programme's version), and not with ``as_of``; the least
    recently used go first. The token is checked before, as for every request.
    """

    @functools.wraps(view)
    def wrapper(args: dict[str, Any], *a: Any, **kw: Any) -> Any:
        tag = g.get("framdrift_etag")
        if tag is None or args.get("as_of") is not None:
            return view(args, *a, **kw)
        answers: OrderedDict[str, tuple[int, list[tuple[str, str]], bytes]] = \
            current_app.extensions.setdefault("framdrift_answers", OrderedDict())
        with _answers_lock:
            kept = answers.get(tag)
            if kept is not None:
                answers.move_to_end(tag)
        if kept is not None:
            return Response(kept[2], status=kept[0], headers=kept[1])
        response = view(args, *a, **kw)
        if isinstance(response, Response) and response.status_code == 200 and \
                not response.is_streamed:
            kept = (200, list(response.headers.items()), response.get_data())
            with _answers_lock:
                answers[tag] = kept
                while len(answers) > ANSWERS_CACHE:
                    answers.popitem(last=False)
        return response

    return wrapper


def _etag(programme_id: Any) -> str | None:
    try:
        seed = readmodels.state(_pid(programme_id) if programme_id else None)
    except Exception:  # noqa: BLE001 - no cheap version (read models missing): hash the body
        return None
    if seed is None:
        return None
    principal = current_principal()
    parts = (seed, request.path, request.query_string.decode("utf-8", "replace"), language(),
             request.headers.get("Accept", ""), principal.role if principal else "")
    return "r-" + hashlib.blake2b("\n".join(parts).encode(), digest_size=15).hexdigest()


DEFAULT_PROGRAMMES_LIMIT = 50
MAX_PROGRAMMES_LIMIT = 500
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{32}$"


def encode_cursor(key: tuple[int, str]) -> str:
    """An opaque cursor: where the next page of programmes starts (the last programme's
    log position, 8 bytes, and id, 16 bytes, in unpadded base64url: 32 characters)."""
    raw = struct.pack(">Q", key[0]) + UUID(key[1]).bytes
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(text: str) -> tuple[int, str]:
    """The (position, id) of a cursor; a malformed one is a 400 naming ``cursor``.

    Every 32-character base64url string decodes to some place in the order (the
    OpenAPI pattern says exactly which are well formed), so a cursor the API did not
    give just starts a page somewhere: it never reads anything a client may not."""
    if not re.fullmatch(CURSOR_PATTERN, text):
        abort(400, message="The cursor is not one this API gives; take it from `next` or "
                           "the Link header, or leave it out for the first page.",
              errors={"cursor": ["not a cursor this API gives (32 characters of base64url)"]})
    raw = base64.urlsafe_b64decode(text)
    position = min(struct.unpack(">Q", raw[:8])[0], s.MAX_POSITION)
    return position, str(UUID(bytes=raw[8:]))


def _page(args: dict[str, Any]) -> tuple[int, int]:
    return args.get("page") or 1, args.get("page_size") or DEFAULT_PAGE_SIZE


def _paged(items: list[Any], total: int, page: int, page_size: int,
           endpoint: str, **values: Any) -> tuple[dict[str, Any], dict[str, str]]:
    pages = max(1, math.ceil(total / page_size)) if total else 1
    query = {k: v for k, v in request.args.items(multi=True) if k not in ("page", "page_size")}
    links = []

    def link(rel: str, number: int) -> None:
        qs = urlencode([*query.items(), ("page", number), ("page_size", page_size)])
        links.append(f'<{url_for(endpoint, **values)}?{qs}>; rel="{rel}"')

    link("first", 1)
    if page > 1:
        link("prev", min(page - 1, pages))
    if page < pages:
        link("next", page + 1)
    link("last", pages)
    body = {"items": items, "total": total, "page": page, "page_size": page_size,
            "pages": pages}
    return body, {"X-Total-Count": str(total), "Link": ", ".join(links)}


def _wants(args: dict[str, Any]) -> str:
    if args.get("format"):
        return args["format"]
    best = request.accept_mimetypes.best_match(
        ["application/json", "text/csv", spreadsheet.XLSX_MEDIA_TYPE, "application/x-ndjson"],
        default="application/json")
    return {"text/csv": "csv", "application/x-ndjson": "ndjson",
            spreadsheet.XLSX_MEDIA_TYPE: "xlsx"}.get(best, "json")


def language() -> str:
    """The language of names and summaries: ``?lang=``, else Accept-Language, else sv.
    Picked once per request (the ETag, the labels and ``Content-Language`` all ask)."""
    if "framdrift_language" not in g:
        g.framdrift_language = pick_language(request.args.get("lang"), request.accept_languages)
    return g.framdrift_language


FACTS_CACHE = 1024  # programmes whose names are kept per process (a few KB each)
_facts_lock = threading.Lock()


def programme_facts(programme_id: Any) -> dict[str, Any]:
    """The programme's title, unit and area names and its maturity instrument ({} if
    unknown): read once per request, and kept per process while the programme's version
    in the read models (``queries.version``) stays the same: writes to other programmes
    do not evict it.
    Loading a programme costs ~16 ms (the demo's), so the cache holds the names of up to
    ``FACTS_CACHE`` programmes (least recently used out first): with many programmes
    the reads would otherwise get slower as the store grows."""
    cache = g.setdefault("framdrift_programmes", {})
    key = str(programme_id)
    if key not in cache:
        facts: OrderedDict[tuple[str, str], dict[str, Any]] = \
            current_app.extensions.setdefault("framdrift_label_facts", OrderedDict())
        try:
            version = readmodels.state(key)
            shared = (key, version) if version is not None else None
        except Exception:  # noqa: BLE001 - read models down: no shared cache
            shared = None
        with _facts_lock:
            found = facts.get(shared) if shared is not None else None
            if found is not None:
                facts.move_to_end(shared)
        if found is None:
            try:
                whole = framdrift_app().get_programme(key)
                found = {"title": whole.get("title"),
                         "units": [{"key": u["key"], "name": u.get("name")}
                                   for u in whole.get("units", [])],
                         "development_areas": [
                             {"area_id": a.get("area_id") or a.get("id"), "name": a.get("name")}
                             for a in whole.get("development_areas", [])],
                         "weeks": len(whole.get("weeks") or []),
                         "instrument": whole.get("instrument") or [],
                         "assessed_dimensions": whole.get("assessed_dimensions") or []}
            except Exception:  # noqa: BLE001 - no names to add: keys stand for themselves
                found = {}
            if shared is not None and found:
                with _facts_lock:
                    facts[shared] = found
                    while len(facts) > FACTS_CACHE:
                        facts.popitem(last=False)
        cache[key] = found
    return cache[key]


def labeller(programme_id: Any = None) -> Labeller:
    """Names beside keys, in the client's language, with the programme's unit names."""
    facts = programme_facts(programme_id) if programme_id is not None else {}
    areas = {str(a.get("area_id") or a.get("id")): a.get("name") or ""
             for a in facts.get("development_areas", []) if a.get("name")}
    return Labeller(language(), unit_names(facts), areas, dimension_names(facts))


def labelled(body: Any, programme_id: Any = None) -> Any:
    return labeller(programme_id).add(body)


def export_csv(rows: Iterable[dict[str, Any]], columns: list[str], sep: str = "comma") -> str:
    """CSV of ``rows``: every cell spreadsheet-safe (``api.spreadsheet``, the one CSV
    writer of every export), with a byte-order mark, separated by ``sep``."""
    return spreadsheet.write_csv(rows, columns, sep=sep)


def export_file(rows: list[dict[str, Any]], columns: list[str], fmt: str, *,
                sep: str = "comma", sheet: str = "data") -> tuple[str | bytes, str]:
    """(body, mimetype) of a table download: csv, xlsx or ndjson."""
    if fmt == "csv":
        return export_csv(rows, columns, sep), "text/csv"
    if fmt == "xlsx":
        return spreadsheet.write_xlsx(rows, columns, sheet=sheet), spreadsheet.XLSX_MEDIA_TYPE
    return export_ndjson(rows), "application/x-ndjson"


def export_ndjson(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _pid(programme_id: Any) -> str:
    return str(programme_id)


EXPORT_DOC = {
    "responses": {"200": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/TimelinePage"}},
        "text/csv": {"schema": {"type": "string"}},
        spreadsheet.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    }}}
}
_ERROR = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
CONDITIONAL_DOC = {"responses": {
    "304": {"description": "Not modified (If-None-Match)."},
    "409": {"description": "min_position is beyond the end of the log.", "content": _ERROR},
    "503": {"description": "The read models did not reach min_position in time "
                           "(Retry-After).", "content": _ERROR},
}}


# -- endpoints --------------------------------------------------------------------------------


# The query's schemas are given as instances, one per endpoint for every request: from a
# class webargs would build one per request (a deep copy of every field), and marshmallow
# 4's schemas keep nothing between loads.
CURSOR_DOC = {"responses": {
    "400": {"description": "A cursor this API did not give.", "content": _ERROR},
}}


@blp.route("/programmes")
@require_role(*READERS)
@blp.arguments(s.ProgrammeListArgs(), location="query")
@consistent
@conditional
@blp.response(200, s.ProgrammeList)
@blp.doc(**CONDITIONAL_DOC)
@blp.doc(**CURSOR_DOC)
def programmes(args: dict[str, Any]) -> Any:
    """Programmes: id, organisation, title and weeks of each, a page at a time.

    In the order they were planned (oldest first). ``limit`` programmes per page (default
    50, at most 500); when more follow, ``next`` (and ``Link: <...>; rel="next"``) is the
    address of the next page, with an opaque ``cursor``. A programme planned while you
    page is on a later page: every programme comes exactly once. ``q`` finds programmes
    by words of their title or organisation.
    """
    limit = args.get("limit") or DEFAULT_PROGRAMMES_LIMIT
    after = decode_cursor(args["cursor"]) if args.get("cursor") is not None else None
    items, last, total = readmodels.call("programmes_page", after=after, limit=limit,
                                         search=args.get("q"))
    headers = {"X-Total-Count": str(total)}
    query = [(k, v) for k, v in request.args.items(multi=True) if k not in ("cursor", "limit")]
    base = url_for("api_v1.programmes")
    links = [f'<{base}?{urlencode([*query, ("limit", limit)])}>; rel="first"']
    following = None
    if last is not None:
        cursor = encode_cursor(last)
        following = f"{base}?{urlencode([*query, ('cursor', cursor), ('limit', limit)])}"
        links.append(f'<{following}>; rel="next"')
    headers["Link"] = ", ".join(links)
    return labelled({"items": items, "total": total, "limit": limit, "next": following}), \
        200, headers


@blp.route("/programmes/<uuid:programme_id>")
@require_role(*READERS)
@blp.arguments(s.ConsistencyArgs(), location="query")
@consistent
@conditional
@blp.response(200, s.ProgrammeOut)
@blp.doc(**CONDITIONAL_DOC)
def programme(args: dict[str, Any], programme_id: Any) -> Any:
    """One programme (looked up by its key)."""
    return labelled(readmodels.call("programme", _pid(programme_id)))


@blp.route("/programmes/<uuid:programme_id>/timeline")
@require_role(*READERS)
@blp.arguments(s.TimelineArgs(), location="query")
@consistent
@conditional
@blp.response(200, s.TimelinePage)
@blp.doc(**CONDITIONAL_DOC)
@blp.doc(**EXPORT_DOC)
def timeline(args: dict[str, Any], programme_id: Any) -> Any:
    """The programme's events in order, filtered and paginated; CSV/NDJSON export.

    Totals are in the body (``total``, ``pages``) and in ``X-Total-Count``; ``Link``
    names the first, previous, next and last pages. A unit or a week the programme does
    not have is a 404 naming the filter (and the units or weeks it has).
    """
    check_filters(programme_id, args)
    fmt = _wants(args)
    sort = args.get("sort") or "position"
    page, page_size = _page(args)
    filters = {
        "since": args.get("since"), "until": args.get("until"),
        "participant": args.get("participant"), "unit": args.get("unit"),
        "kind": args.get("kind"), "week": args.get("week"),
        "sort": sort.lstrip("-"), "descending": sort.startswith("-"),
    }
    if fmt == "json" or "page" in args or "page_size" in args:
        rows, total = readmodels.call("timeline", _pid(programme_id), **filters,
                                      limit=page_size, offset=(page - 1) * page_size)
    else:  # a whole export, read in chunks
        rows, total, offset = [], 0, 0
        while True:
            chunk, total = readmodels.call("timeline", _pid(programme_id), **filters,
                                           limit=EXPORT_CHUNK, offset=offset)
            rows += chunk
            offset += len(chunk)
            if not chunk or offset >= total:
                break
    rows = s.TimelineRow(many=True).dump(labelled(rows, programme_id))
    body, headers = _paged(rows, total, page, page_size, "api_v1.timeline",
                           programme_id=programme_id)
    if fmt == "json":
        return body, 200, headers
    text, mimetype = export_file(rows, list(s.TimelineRow().fields), fmt,
                                 sep=args.get("sep") or "comma", sheet="timeline")
    response = Response(text, mimetype=mimetype, headers=headers)
    what = "timeline" if fmt == "json" or ("page" not in args and "page_size" not in args) \
        else f"timeline-page{page}"
    name = spreadsheet.file_name(programme_facts(programme_id).get("title"), what,
                                 datetime.now(UTC), fmt, readmodels.position())
    response.headers["Content-Disposition"] = spreadsheet.content_disposition(name)
    return response


def check_filters(programme_id: Any, args: dict[str, Any]) -> None:
    """A 404 naming the filter when it asks for a unit or a week the programme does not
    have, with those it has (as the evaluators' pages answer a week that is not there): a
    unit key mistyped, or given by its name, or a week after the last, were answered with
    an empty page, which reads as "nothing happened". (A 404, not a 422: the value is
    valid by the schema; it is the programme that has no such unit or week.)"""
    facts = programme_facts(programme_id)
    if not facts:
        return  # an unknown programme: its 404 comes from the read
    problems: dict[str, list[str]] = {}
    units = [u["key"] for u in facts.get("units", [])]
    if args.get("unit") is not None and args["unit"] not in units:
        problems["unit"] = [f"the programme has no unit with this key; its units are: "
                            f"{', '.join(units) or 'none'}"]
    weeks = facts.get("weeks") or 0
    if args.get("week") is not None and weeks and args["week"] > weeks:
        problems["week"] = [f"the programme has no week {args['week']}; its weeks are 1 "
                            f"to {weeks}"]
    if problems:
        abort(404, message="The programme has no such "
              + " or ".join(problems) + "; see errors.", errors=problems)


def _read_model(name: str, schema: Any, args_schema: Any = s.ConsistencyArgs(),
                doc: dict[str, Any] | None = None, remember: bool = False) -> Callable:
    """Register ``GET /programmes/<id>/<name>``, answered by ``queries.<func>``;
    ``remember``: its answers kept under their ETags (:func:`remembered`)."""

    def decorate(func: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
        @functools.wraps(func)
        def named(args: dict[str, Any], programme_id: Any) -> Any:
            return labelled(func(args, programme_id), programme_id)

        view = blp.doc(**CONDITIONAL_DOC)(blp.response(200, schema)(named))
        if doc:
            view = blp.doc(**doc)(view)
        if remember:
            view = remembered(view)
        view = blp.arguments(args_schema, location="query")(consistent(conditional(view)))
        return blp.route(f"/programmes/<uuid:programme_id>/{name}", endpoint=name)(
            require_role(*READERS)(view))

    return decorate


@_read_model("progress", s.Progress, s.ProgressArgs(), remember=True)
def progress(args: dict[str, Any], programme_id: Any) -> Any:
    """Progress by week: reflections, decisions, experiments by stage and outcome,
    capabilities (the chain the programme exists to show); with ``as_of``, as it stood
    then (from the as-of replay's running totals)."""
    if args.get("as_of") is not None:
        from projections import asof

        at, rows = asof.progress_moment(framdrift_app().sql, programme_id, args["as_of"])
        # the same weeks as without ``as_of``: those in which something was counted
        weeks = [progress_week(r) for r in rows]
        return {"programme_id": programme_id, "as_of": at,
                "weeks": [w for w in weeks if _counted(w)]}
    return {"programme_id": programme_id,
            "weeks": readmodels.call("progress", _pid(programme_id))}


def _counted(week: dict[str, Any]) -> bool:
    return any(v for k, v in week.items() if k not in ("week", "theme"))


def progress_week(row: dict[str, Any]) -> dict[str, Any]:
    """A row of ``ProgrammeState.progress`` (the as-of funnel) as a ``ProgressWeek``."""
    stages, outcomes = row["experiments"], row["outcomes"]
    return {"week": row["week"], "theme": row["theme"], "reflections": row["reflections"],
            "reflections_withdrawn": row["withdrawn_reflections"],
            "decisions": row["decisions"], "decisions_reversed": row["reversed_decisions"],
            "experiments": sum(stages.values()),
            **{f"experiments_{k}": v for k, v in stages.items()},
            **{f"outcome_{k}": v for k, v in outcomes.items()},
            "capabilities": row["capabilities"]}


@_read_model("lineage", s.Lineage, s.LineageArgs())
def lineage(args: dict[str, Any], programme_id: Any) -> Any:
    """Lineage graph: records (nodes) and "builds on" links (edges, later -> earlier).

    With ``record_id``: only that record's ancestors and descendants (404 if the
    programme has no such record).
    """
    record_id = args.get("record_id")
    graph = readmodels.call("lineage", _pid(programme_id),
                            str(record_id) if record_id else None)
    return {"programme_id": programme_id, "record_id": graph.get("record_id"),
            "nodes": graph["nodes"], "edges": graph["edges"],
            "cross_participant_links": graph.get("cross_participant_links", 0),
            "cross_unit_links": graph.get("cross_unit_links", 0)}


@_read_model("development-areas", s.DevelopmentAreas)
def development_areas(args: dict[str, Any], programme_id: Any) -> Any:
    """Development areas (merged ones folded in): records, participants and units."""
    return {"programme_id": programme_id,
            "items": readmodels.call("development_areas", _pid(programme_id))}


@_read_model("engagement", s.Engagement)
def engagement(args: dict[str, Any], programme_id: Any) -> Any:
    """Engagement per participant (pseudonym) and unit: material, check-ins, sessions."""
    return {"programme_id": programme_id,
            **readmodels.call("engagement", _pid(programme_id))}


@_read_model("collaborations", s.Collaborations, s.CollaborationArgs())
def collaborations(args: dict[str, Any], programme_id: Any) -> Any:
    """Pairs of units sharing decisions or experiments, per week (optionally one week; a
    week after the programme's last is a 404 naming it)."""
    check_filters(programme_id, args)
    week = args.get("week")
    return {"programme_id": programme_id, "week": week,
            "items": readmodels.call("collaborations", _pid(programme_id), week),
            **readmodels.call("collaboration_links", _pid(programme_id), week)}


MATURITY_EXPORT_DOC = {"responses": {"200": {"content": {
    **EXPORT_DOC["responses"]["200"]["content"],
    "application/json": {"schema": {"$ref": "#/components/schemas/Maturity"}},
}}}}


@_read_model("maturity", s.Maturity, s.MaturityArgs(), MATURITY_EXPORT_DOC)
def maturity(args: dict[str, Any], programme_id: Any) -> Any:
    """Maturity per dimension (and unit): before, after and the change, on the scale of
    the programme's instrument; also as a csv, xlsx or ndjson file (``format``)."""
    scales = {d["key"]: d for d in programme_facts(programme_id).get("instrument") or []}
    items = [{**row, "scale_min": scales.get(row["dimension"], {}).get("scale_min"),
              "scale_max": scales.get(row["dimension"], {}).get("scale_max")}
             for row in readmodels.call("maturity", _pid(programme_id))]
    fmt = args.get("format") or "json"
    if fmt == "json":
        return {"programme_id": programme_id, "items": items}
    columns = labelled_columns(list(s.MaturityRow().fields))
    rows = s.MaturityRow(many=True).dump(labelled(items, programme_id))
    text, mimetype = export_file(rows, columns, fmt, sep=args.get("sep") or "comma",
                                 sheet="maturity")
    response = Response(text, mimetype=mimetype)
    name = spreadsheet.file_name(programme_facts(programme_id).get("title"), "maturity",
                                 datetime.now(UTC), fmt, readmodels.position())
    response.headers["Content-Disposition"] = spreadsheet.content_disposition(name)
    return response


@blp.route("/programmes/<uuid:programme_id>/maturity-instrument")
@require_role(*READERS)
@blp.arguments(s.ConsistencyArgs(), location="query")
@consistent
@blp.response(200, s.MaturityInstrument)
@blp.doc(**CONDITIONAL_DOC)
def maturity_instrument(args: dict[str, Any], programme_id: Any) -> Any:
    """The programme's maturity instrument (read-only): each dimension's key and name in
    Swedish and English, its category and scale, and whether it has been scored."""
    facts = programme_facts(programme_id)
    if not facts:
        abort(404, message=f"No programme {programme_id}.",
              errors={"programme_id": ["unknown programme"]})
    assessed = set(facts.get("assessed_dimensions") or [])
    items = [{"dimension": d["key"], "name_sv": d["name_sv"], "name_en": d["name_en"],
              "category": d["category"], "scale_min": d["scale_min"],
              "scale_max": d["scale_max"], "assessed": d["key"] in assessed}
             for d in facts.get("instrument") or []]
    return labelled({"programme_id": programme_id, "items": items}, programme_id)


@blp.route("/tokens")
@require_role("researcher")
@blp.arguments(s.ConsistencyArgs(), location="query")
@consistent
@blp.response(200, s.TokenList)
@blp.doc(**CONDITIONAL_DOC)
def tokens(args: dict[str, Any]) -> Any:
    """API tokens ever issued (never their secrets). Researchers only."""
    from domain.accounts import list_tokens

    return labelled({"items": list_tokens(framdrift_app())})
