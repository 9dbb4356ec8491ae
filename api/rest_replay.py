"""As-of replay and lineage in the JSON API (``/api/v1``, same Api, auth and errors).

- ``GET /api/v1/programmes/{id}/state?as_of=`` — the programme's structure as it stood at
  a log position (integer) or a moment (ISO date/time; a bare date is the end of that day).
- ``GET /api/v1/records/{id}/lineage?direction=&as_of=&format=json|prov-json`` — what a
  record came from and what came of it; ``prov-json`` is a W3C PROV-JSON document.

Researchers and evaluators (tokens); the structural state holds pseudonyms, never names
or text. Read from the timeline read model (as-of replay, projections/asof.py): a
checkpoint plus a short fold, with the participants' *current* consent and erasure flags
applied, also as of the past (docs/adr/0004): records of participants who do not consent
are left out with their links (their lineage is 404), erased participants' records show
as "erased participant".
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, json, request
from marshmallow import ValidationError, fields, validate

from api import schemas as s
from api.app import framdrift_app
from api.auth import READERS, require_role
from api.errors import Blueprint
from api.rest import CONDITIONAL_DOC, PREFIX, consistent, language
from api.web.labels import Labeller, dimension_names, unit_names
from projections import asof

blp = Blueprint(
    "api_v1_replay", __name__, url_prefix=PREFIX,
    description="As-of replay of programmes and lineage of records (pseudonymous).",
)

AS_OF = ("A log position (integer) or an ISO 8601 date/time (UTC when no offset; a bare "
         "date means the end of that day). By time, the state is the longest prefix of the "
         "programme's log in which every event happened at or before that moment. "
         "Default: now.")


def _moment(value: str) -> None:
    """The whole value, as sent, is a moment (``asof.MOMENT_RE``): no spaces around it,
    ASCII digits only, a real calendar day."""
    if not re.fullmatch(asof.MOMENT_RE, value):
        raise ValidationError("Not a log position or an ISO 8601 date or date-time.")


class MomentArgs(s.ConsistencyArgs):
    as_of = fields.String(validate=[validate.Length(min=1, max=40), _moment],
                          metadata={"description": AS_OF, "pattern": asof.MOMENT_PATTERN})


class LineageArgs(MomentArgs):
    direction = fields.String(
        validate=validate.OneOf(("back", "forward", "both")),
        metadata={"description": "back: what it came from; forward: what came of it; "
                                 "both (default)."})
    format = fields.String(
        validate=validate.OneOf(("json", "prov-json")),
        metadata={"description": "json (default) or prov-json (W3C PROV-JSON, served as "
                                 "application/vnd.prov+json; also chosen by that Accept)."})


class StateWeek(s.Base):
    number = fields.Integer(required=True)
    theme = fields.String(required=True)
    theme_label = s.label("theme")
    starts_on = s.iso(required=True)
    ends_on = s.iso(required=True)


class StageCounts(s.Base):
    planned = fields.Integer(required=True)
    started = fields.Integer(required=True)
    evaluated = fields.Integer(required=True)
    concluded = fields.Integer(required=True)


class OutcomeCounts(s.Base):
    adopt = fields.Integer(required=True)
    adapt = fields.Integer(required=True)
    abandon = fields.Integer(required=True)


class StateProgress(s.Base):
    week = fields.Integer(required=True)
    theme = fields.String(required=True, allow_none=True)
    theme_label = s.label("theme", allow_none=True)
    reflections = fields.Integer(required=True)
    withdrawn_reflections = fields.Integer(required=True)
    decisions = fields.Integer(required=True)
    reversed_decisions = fields.Integer(required=True)
    experiments = fields.Nested(StageCounts, required=True)
    outcomes = fields.Nested(OutcomeCounts, required=True)
    capabilities = fields.Integer(required=True)


class StateNode(s.Base):
    id = fields.UUID(required=True)
    kind = fields.String(required=True)
    kind_label = s.label("kind")
    week = fields.Integer(required=True)
    unit = fields.String(required=True)
    unit_label = s.label("unit")
    pseudonym = fields.String(required=True, allow_none=True, metadata={
        "description": "The author's pseudonym ('erased participant' once erased)."})
    void = fields.Boolean(required=True, metadata={"description": "Withdrawn or reversed."})
    stage = fields.String(required=True, allow_none=True)
    stage_label = s.label("stage", allow_none=True)
    outcome = fields.String(required=True, allow_none=True)
    outcome_label = s.label("outcome", allow_none=True)
    created_at = s.iso(required=True)


class StateEdge(s.Base):
    from_ = fields.UUID(required=True, data_key="from", attribute="from",
                        metadata={"description": "The later record ..."})
    to = fields.UUID(required=True, metadata={"description": "... is based on this one."})
    type = fields.String(required=True)
    type_label = s.label("type")


class StateLineage(s.Base):
    nodes = fields.List(fields.Nested(StateNode), required=True)
    edges = fields.List(fields.Nested(StateEdge), required=True)


class StateArea(s.Base):
    area_id = fields.String(required=True)
    name = fields.String(required=True)
    records = fields.Integer(required=True)
    participants = fields.Integer(required=True)
    units = fields.List(fields.String(), required=True)
    units_label = s.label("units", many=True)


class StateCollaboration(s.Base):
    week = fields.Integer(required=True)
    unit_a = fields.String(required=True)
    unit_a_label = s.label("unit_a")
    unit_b = fields.String(required=True)
    unit_b_label = s.label("unit_b")
    decisions = fields.Integer(required=True)
    experiments = fields.Integer(required=True)


class ProgrammeState(s.OfProgramme):
    as_of = fields.Integer(required=True, metadata={
        "description": "The log position of the last event folded in (0: none yet)."})
    time = s.iso("Event time of that event.", required=True, allow_none=True)
    events = fields.Integer(required=True, metadata={"description": "Programme events so far."})
    title = fields.String(required=True, allow_none=True)
    organisation = fields.String(required=True, allow_none=True)
    weeks = fields.List(fields.Nested(StateWeek), required=True)
    participants = fields.Integer(required=True, metadata={
        "description": "Participants enrolled so far (whatever their consent)."})
    materials = fields.Integer(required=True)
    check_ins = fields.Integer(required=True)
    sessions = fields.Integer(required=True)
    closed = fields.Boolean(required=True)
    progress = fields.List(fields.Nested(StateProgress), required=True)
    lineage = fields.Nested(StateLineage, required=True)
    development_areas = fields.List(fields.Nested(StateArea), required=True)
    collaborations = fields.List(fields.Nested(StateCollaboration), required=True)


class RecordLineageNode(s.Base):
    id = fields.UUID(required=True)
    kind = fields.String(required=True)
    kind_label = s.label("kind")
    week = fields.Integer(required=True)
    theme = fields.String(required=True, allow_none=True)
    theme_label = s.label("theme", allow_none=True)
    unit = fields.String(required=True)
    unit_label = s.label("unit")
    units = fields.List(fields.String(), required=True)
    units_label = s.label("units", many=True)
    participant = fields.String(required=True, allow_none=True, metadata={
        "description": "Pseudonym ('erased participant' once erased)."})
    void = fields.Boolean(required=True)
    stage = fields.String(required=True, allow_none=True)
    stage_label = s.label("stage", allow_none=True)
    outcome = fields.String(required=True, allow_none=True)
    outcome_label = s.label("outcome", allow_none=True)
    created_at = s.iso(required=True)
    position = fields.Integer(required=True, metadata={"description": "Log position created."})
    depth = fields.Integer(required=True, metadata={
        "description": "Steps from the record: negative back (sources), positive forward."})


class RecordLineageEdge(s.Base):
    from_ = fields.UUID(required=True, data_key="from", attribute="from")
    to = fields.UUID(required=True)
    relation = fields.String(required=True)
    relation_label = s.label("relation")


class RecordLineage(s.OfProgramme):
    record_id = fields.UUID(required=True)
    direction = fields.String(required=True)
    as_of = fields.Integer(required=True)
    nodes = fields.List(fields.Nested(RecordLineageNode), required=True)
    edges = fields.List(fields.Nested(RecordLineageEdge), required=True)


def state_labeller(state: Any, lang: str) -> Labeller:
    """Names beside keys as of the state: its units' and development areas' names."""
    areas = {a: v.get("name") or a for a, v in getattr(state, "areas", {}).items()}
    return Labeller(lang, unit_names(state.programme), areas,
                        dimension_names(state.programme))


def state_body(state: Any) -> dict[str, Any]:
    meetings = list(state.meetings.values())
    return {
        "programme_id": state.programme_id, "as_of": state.position, "time": state.time,
        "events": state.events, "title": state.programme.get("title"),
        "organisation": state.programme.get("organisation"),
        "weeks": state.programme.get("weeks", []),
        # enrolled participants: a programme fact, counted whatever their consent
        "participants": getattr(state, "enrolled", len(state.participants)),
        "materials": len(state.materials),
        "check_ins": sum(1 for m in meetings if m["kind"] == "check_in"),
        "sessions": sum(1 for m in meetings if m["kind"] == "session"),
        "closed": state.closed, "progress": state.progress(), "lineage": state.lineage(),
        "development_areas": state.development_areas(),
        "collaborations": state.collaborations(),
    }


@blp.route("/programmes/<uuid:programme_id>/state")
@require_role(*READERS)
@blp.arguments(MomentArgs(), location="query")
@consistent
@blp.response(200, ProgrammeState)
@blp.doc(**CONDITIONAL_DOC)
def programme_state(args: dict[str, Any], programme_id: Any) -> Any:
    """The programme as it stood at a moment: records and their stage, lineage, progress,
    development areas and collaborations (structure only; pseudonyms, no text)."""
    state = asof.moment(framdrift_app().sql, programme_id, args.get("as_of"))
    return state_labeller(state, language()).add(state_body(state))


PROV_DOC = {"responses": {"200": {"content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/RecordLineage"}},
    asof.PROV_MEDIA_TYPE: {"schema": {"type": "object"}},
}}}}


@blp.route("/records/<uuid:record_id>/lineage")
@require_role(*READERS)
@blp.arguments(LineageArgs(), location="query")
@consistent
@blp.response(200, RecordLineage)
@blp.doc(**CONDITIONAL_DOC)
@blp.doc(**PROV_DOC)
def record_lineage(args: dict[str, Any], record_id: Any) -> Any:
    """A record's lineage: back to the reflections a capability came from, forward to what
    a reflection led to. ``format=prov-json`` gives W3C PROV-JSON (entities: records;
    activities: the events that generated them; agents: pseudonyms and units)."""
    sql = framdrift_app().sql
    pid = asof.programme_of_record(sql, record_id)
    state = asof.moment(sql, pid, args.get("as_of"))
    graph = asof.lineage(state, record_id, direction=args.get("direction") or "both")
    fmt = args.get("format")
    if fmt is None and request.accept_mimetypes.best_match(
            ["application/json", asof.PROV_MEDIA_TYPE]) == asof.PROV_MEDIA_TYPE:
        fmt = "prov-json"  # asked for by Accept: application/vnd.prov+json
    if fmt == "prov-json":
        doc = asof.prov_document(state, [n["id"] for n in graph["nodes"]])
        response = Response(json.dumps(doc), mimetype=asof.PROV_MEDIA_TYPE)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="lineage-{record_id}.prov.json"')
        return response
    return state_labeller(state, language()).add(graph)


def init_app(app: Flask) -> None:
    """Register on the same flask-smorest Api as ``api.rest`` (call after it)."""
    app.extensions["framdrift_api"].register_blueprint(blp)
