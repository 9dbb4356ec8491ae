"""Marshmallow schemas of the JSON API: every query string and every response.

Read-model responses mirror ``projections.queries``; the API dumps through these
schemas, so the OpenAPI description (generated from them) is what clients get.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from projections.asof import MOMENT_PATTERN, MOMENT_RE

MAX_POSITION = 2**62
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 500
_NO_CONTROL = re.compile(r"^[^\x00-\x1f\x7f]*$")


def text_filter(description: str) -> fields.String:
    """A free-text filter: printable, at most 200 characters."""
    return fields.String(
        validate=[validate.Length(min=1, max=200),
                  validate.Regexp(_NO_CONTROL, error="must not contain control characters")],
        metadata={"description": description},
    )


class UtcDateTime(fields.DateTime):
    """An ISO 8601 date-time; a missing offset means UTC. Loaded as aware UTC."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            if result.tzinfo is None:
                return result.replace(tzinfo=UTC)
            return result.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ma.ValidationError("is out of range") from None


_PLAIN = {fields.Integer: int, fields.String: str, fields.Boolean: bool}


class Base(ma.Schema):
    """Dumps as marshmallow does, a plain value faster: an ``int``, ``str`` or ``bool``
    (or None) under a plain Integer, String or Boolean field is what marshmallow would
    make of it, so it is copied without the field's four calls (most of an answer's
    values: /progress has ~80 counts)."""

    class Meta:
        ordered = True

    def _serialize(self, obj: Any, *, many: bool = False) -> Any:
        if many and obj is not None:
            return [self._serialize(d) for d in obj]
        if type(obj) is not dict:
            return super()._serialize(obj)
        plan = self.__dict__.get("_framdrift_plan")
        if plan is None:
            plan = self._framdrift_plan = [
                (name, field, _plain(name, field)) for name, field in self.dump_fields.items()]
        out = {}
        for name, field, plain in plan:
            if plain is not None:
                value = obj.get(name, ma.missing)
                if value is None or type(value) is plain:
                    out[name] = value
                    continue
            value = field.serialize(name, obj, accessor=self.get_attribute)
            if value is not ma.missing:
                out[field.data_key if field.data_key is not None else name] = value
        return out


def _plain(name: str, field: fields.Field) -> type | None:
    """The type whose values ``field`` dumps as they are (None: ask the field)."""
    if field.data_key is not None or field.attribute is not None or "." in name or \
            getattr(field, "as_string", False):
        return None
    return _PLAIN.get(type(field))


LANGUAGES = ("sv", "en")


class ConsistencyArgs(Base):
    """Read-your-writes: every endpoint takes ``min_position``; and ``lang``."""

    lang = fields.String(
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": (
            "Language of the names beside keys (the *_label fields) and of summaries: sv "
            "or en. Default: the best of the Accept-Language header, else sv (Swedish)."
        )},
    )

    min_position = fields.Integer(
        validate=validate.Range(min=0, max=MAX_POSITION),
        metadata={"description": (
            "Wait (at most a few seconds) until the read models have reached this log "
            "position, e.g. the position a write returned; 503 with Retry-After if they "
            "do not get there in time; 409 at once if the log has no such position yet "
            "(beyond its end). Also accepted as the X-Framdrift-Min-Position header."
        )},
    )


class PageArgs(ConsistencyArgs):
    page = fields.Integer(validate=validate.Range(min=1, max=MAX_PAGE),
                          metadata={"description": "Page number, from 1 (default 1)."})
    page_size = fields.Integer(
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": f"Items per page (default 50, at most {MAX_PAGE_SIZE})."},
    )


SORT_KEYS = ("position", "event_time")
KINDS = ("programme", "participant", "reflection", "decision", "experiment", "capability")
FORMATS = ("json", "csv", "xlsx", "ndjson")
SEPARATORS = ("comma", "semicolon")


class ProgrammeListArgs(ConsistencyArgs):
    # checked by the view (a malformed cursor is a 400 naming it); the pattern documents it
    cursor = fields.String(metadata={
        "pattern": r"^[A-Za-z0-9_-]{32}$",
        "description": "Where the page starts: the opaque cursor in the previous page's "
                       "`next` (and `Link` header); left out, the first page. A malformed "
                       "cursor is a 400."})
    limit = fields.Integer(validate=validate.Range(min=1, max=500), metadata={
        "description": "Programmes per page (default 50, at most 500)."})
    q = text_filter("Only programmes whose title or organisation contains every word of "
                    "this (in any case); `total` is then the number that match. Keep it "
                    "with the `cursor` (the `next` address does).")


class TimelineArgs(PageArgs):
    since = UtcDateTime(metadata={"description": "Only events at or after this event time."})
    until = UtcDateTime(metadata={"description": "Only events at or before this event time."})
    participant = text_filter("Only this participant (pseudonym, e.g. P-1a2b3c).")
    unit = text_filter("Only this unit (key).")
    kind = fields.String(validate=validate.OneOf(KINDS),
                         metadata={"description": "Only events of this kind of record."})
    week = fields.Integer(validate=validate.Range(min=1, max=1000),
                          metadata={"description": "Only this course week."})
    sort = fields.String(
        validate=validate.OneOf(SORT_KEYS + tuple(f"-{k}" for k in SORT_KEYS)),
        metadata={"description": "Sort key; a leading '-' sorts descending (default position)."},
    )
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": (
            "json (default, paginated), csv, xlsx (an Excel workbook: typed cells, a "
            "frozen header row) or ndjson (exports: all matching rows unless "
            "page/page_size are given). Also chosen by Accept: text/csv, "
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet or "
            "application/x-ndjson. CSV is UTF-8 with a byte-order mark."
        )},
    )
    sep = fields.String(
        validate=validate.OneOf(SEPARATORS),
        metadata={"description": (
            "CSV separator: comma (default) or semicolon (what Excel in a Swedish locale "
            "expects)."
        )},
    )


class LineageArgs(ConsistencyArgs):
    record_id = fields.UUID(metadata={"description": "Only the lineage of this record."})


class CollaborationArgs(ConsistencyArgs):
    week = fields.Integer(validate=validate.Range(min=1, max=1000),
                          metadata={"description": "Only collaborations of this week."})


# -- responses ----------------------------------------------------------------------------
# Dates and times from the read models are ISO 8601 strings (UTC).
# Names beside keys: every key field (theme, unit, kind, stage, ...) keeps its key and has a
# sibling ``<field>_label`` with its name in the language asked for (``lang`` / the
# Accept-Language header; default Swedish), of the same shape: a string for a string, a
# list for a list, null for null (api.web.labels).


def label(of: str, many: bool = False, **kw) -> fields.Field:  # type: ignore[no-untyped-def]
    """The name of the key in ``of``, in the language asked for."""
    doc = {"description": f"The name of `{of}` in the language asked for (lang= or "
                          "Accept-Language; default Swedish); the key when it has none."}
    kw.setdefault("required", True)
    if many:
        return fields.List(fields.String(), metadata=doc, **kw)
    return fields.String(metadata=doc, **kw)


def iso(description: str = "ISO 8601 date or time (UTC)", **kw) -> fields.String:  # type: ignore[no-untyped-def]
    return fields.String(metadata={"description": description}, **kw)


class WeekOut(Base):
    number = fields.Integer(required=True)
    theme = fields.String(required=True)
    theme_label = label("theme")
    starts_on = iso("First day (ISO date).", required=True)
    ends_on = iso("Last day (ISO date).", required=True)


class ProgrammeOut(Base):
    id = fields.UUID(required=True)
    organisation = fields.String(required=True)
    title = fields.String(required=True)
    synthetic = fields.Boolean(required=True, metadata={"description": "Synthetic demo data."})
    closed = fields.Boolean(required=True)
    planned_at = iso("When the programme was planned (event time).", required=True)
    participants = fields.Integer(required=True, metadata={"description": "Enrolled."})
    weeks = fields.List(fields.Nested(WeekOut), required=True)


class ProgrammeList(Base):
    items = fields.List(fields.Nested(ProgrammeOut), required=True)
    total = fields.Integer(required=True, metadata={"description": "Programmes, all pages."})
    limit = fields.Integer(required=True, metadata={"description": "Programmes per page."})
    next = fields.String(required=True, allow_none=True, metadata={
        "description": "The address of the next page (as in `Link: <...>; rel=\"next\"`); "
                       "null on the last page."})


class PageOut(Base):
    total = fields.Integer(required=True, metadata={"description": "Matching rows, all pages."})
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class TimelineRow(Base):
    position = fields.Integer(required=True, metadata={"description": "Log position."})
    event_time = iso("When it happened (event time, UTC).", required=True)
    event_type = fields.String(required=True, metadata={"description": "e.g. Reflection.Logged"})
    event_type_label = label("event_type")
    kind = fields.String(required=True)
    kind_label = label("kind")
    record_id = fields.UUID(required=True)
    participant = fields.String(required=True, allow_none=True,
                                metadata={"description": "Pseudonym (never a name)."})
    unit = fields.String(required=True, allow_none=True)
    unit_label = label("unit", allow_none=True)
    week = fields.Integer(required=True, allow_none=True)
    theme = fields.String(required=True, allow_none=True)
    theme_label = label("theme", allow_none=True)
    summary = fields.String(required=True, metadata={
        "description": "What happened (no personal data), in the language asked for."})
    actor = fields.String(required=True, metadata={
        "description": "Who acted: a pseudonym, or a role (researcher, system, ...)."})
    actor_label = label("actor")


class TimelinePage(PageOut):
    items = fields.List(fields.Nested(TimelineRow), required=True)


class OfProgramme(Base):
    programme_id = fields.UUID(required=True)


class ProgressWeek(Base):
    week = fields.Integer(required=True)
    theme = fields.String(required=True, allow_none=True)
    theme_label = label("theme", allow_none=True)
    reflections = fields.Integer(required=True)
    reflections_withdrawn = fields.Integer(required=True)
    decisions = fields.Integer(required=True)
    decisions_reversed = fields.Integer(required=True)
    experiments = fields.Integer(required=True, metadata={"description": "All stages."})
    experiments_planned = fields.Integer(required=True)
    experiments_started = fields.Integer(required=True)
    experiments_evaluated = fields.Integer(required=True)
    experiments_concluded = fields.Integer(required=True)
    outcome_adopt = fields.Integer(required=True)
    outcome_adapt = fields.Integer(required=True)
    outcome_abandon = fields.Integer(required=True)
    capabilities = fields.Integer(required=True)


class Progress(OfProgramme):
    weeks = fields.List(fields.Nested(ProgressWeek), required=True,
                        metadata={"description": "Per course week: reflection -> capability."})
    as_of = fields.Integer(metadata={
        "description": "Only with ``as_of`` asked for: the log position of the programme's "
                       "last event at or before that moment (0: none yet)."})


def _moment(value: str) -> None:
    """The whole value, as sent, is a moment (``projections.asof.MOMENT_RE``)."""
    if not re.fullmatch(MOMENT_RE, value):
        raise ma.ValidationError("Not a log position or an ISO 8601 date or date-time.")


class ProgressArgs(ConsistencyArgs):
    as_of = fields.String(
        validate=[validate.Length(min=1, max=40), _moment],
        metadata={"description": (
            "The funnel as it stood at a log position (integer) or an ISO 8601 date/time "
            "(UTC when no offset; a bare date means the end of that day): by time, the "
            "longest prefix of the programme's log in which every event happened at or "
            "before that moment. The same weeks as without it are listed (those in "
            "which something was counted), counted from running totals (one index "
            "seek, whatever the programme's size), with the participants' current consent applied. "
            "Default: now (the progress read model)."),
            "pattern": MOMENT_PATTERN},
    )


class LineageNode(Base):
    id = fields.UUID(required=True)
    kind = fields.String(required=True)
    kind_label = label("kind")
    week = fields.Integer(required=True)
    unit = fields.String(required=True, allow_none=True)
    unit_label = label("unit", allow_none=True)
    participant = fields.String(required=True, allow_none=True,
                                metadata={"description": "Pseudonym."})
    void = fields.Boolean(required=True, metadata={"description": "Withdrawn or reversed."})
    stage = fields.String(required=True, allow_none=True)
    stage_label = label("stage", allow_none=True)
    outcome = fields.String(required=True, allow_none=True)
    outcome_label = label("outcome", allow_none=True)
    cycle = fields.Integer(required=True, allow_none=True)
    created_at = iso(required=True)
    shared = fields.Boolean(metadata={
        "description": "Shared with the course group by its author (else for the researchers "
                       "only)."})


class LineageEdge(Base):
    from_ = fields.UUID(required=True, data_key="from", attribute="from",
                        metadata={"description": "The later record ..."})
    to = fields.UUID(required=True, metadata={"description": "... builds on this one."})
    relation = fields.String(required=True)
    relation_label = label("relation")
    cross_participant = fields.Boolean(metadata={
        "description": "The two records have different authors."})
    cross_unit = fields.Boolean(metadata={"description": "The two records are of different units."})


class Lineage(OfProgramme):
    record_id = fields.UUID(allow_none=True, metadata={
        "description": "When asked for one record: its ancestors and descendants only."})
    nodes = fields.List(fields.Nested(LineageNode), required=True)
    edges = fields.List(fields.Nested(LineageEdge), required=True)
    cross_participant_links = fields.Integer(metadata={
        "description": "Edges whose two records have different authors."})
    cross_unit_links = fields.Integer(metadata={
        "description": "Edges whose two records are of different units."})


class ByKind(Base):
    reflection = fields.Integer(required=True)
    decision = fields.Integer(required=True)
    experiment = fields.Integer(required=True)
    capability = fields.Integer(required=True)


class DevelopmentArea(Base):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    identified_at = iso(required=True, allow_none=True)
    merged = fields.List(fields.String(), required=True,
                         metadata={"description": "Areas merged into this one."})
    merged_label = label("merged", many=True)
    records = fields.Integer(required=True)
    by_kind = fields.Nested(ByKind, required=True)
    participants = fields.Integer(required=True)
    units = fields.Integer(required=True)
    unit_keys = fields.List(fields.String(), required=True)
    unit_keys_label = label("unit_keys", many=True)


class DevelopmentAreas(OfProgramme):
    items = fields.List(fields.Nested(DevelopmentArea), required=True)


class ParticipantEngagement(Base):
    participant = fields.String(required=True, metadata={"description": "Pseudonym."})
    unit = fields.String(required=True)
    unit_label = label("unit")
    role = fields.String(required=True)
    role_label = label("role")
    consent = fields.Boolean(required=True)
    erased = fields.Boolean(required=True)
    materials = fields.Integer(required=True)
    materials_published = fields.Integer(required=True)
    check_ins = fields.Integer(required=True)
    check_ins_held = fields.Integer(required=True)
    sessions = fields.Integer(required=True)
    sessions_held = fields.Integer(required=True)


class UnitEngagement(Base):
    unit = fields.String(required=True)
    unit_label = label("unit")
    participants = fields.Integer(required=True)
    materials = fields.Integer(required=True)
    check_ins = fields.Integer(required=True)
    sessions = fields.Integer(required=True)
    materials_share = fields.Float(required=True)
    check_in_share = fields.Float(required=True)
    session_share = fields.Float(required=True)


class Engagement(OfProgramme):
    materials_published = fields.Integer(required=True)
    check_ins_held = fields.Integer(required=True)
    sessions_held = fields.Integer(required=True)
    participants = fields.List(fields.Nested(ParticipantEngagement), required=True)
    units = fields.List(fields.Nested(UnitEngagement), required=True)


class Collaboration(Base):
    week = fields.Integer(required=True)
    unit_a = fields.String(required=True)
    unit_a_label = label("unit_a")
    unit_b = fields.String(required=True)
    unit_b_label = label("unit_b")
    decisions = fields.Integer(required=True)
    experiments = fields.Integer(required=True)
    links = fields.Integer(metadata={
        "description": "\"Based on\" and next-cycle links between records of the two units "
                       "(in the later record's week)."})
    teams = fields.Integer(metadata={
        "description": "Experiments and capabilities whose team has members of both units."})


class Collaborations(OfProgramme):
    week = fields.Integer(required=True, allow_none=True)
    items = fields.List(fields.Nested(Collaboration), required=True)
    links = fields.Integer(metadata={"description": "Lineage links in all (of the week)."})
    cross_participant_links = fields.Integer(metadata={
        "description": "Links whose two records have different authors."})
    cross_unit_links = fields.Integer(metadata={
        "description": "Links whose two records are of different units."})
    joint_records = fields.Integer(metadata={
        "description": "Experiments and capabilities whose team spans units."})


class MaturityRow(Base):
    dimension = fields.String(required=True)
    dimension_label = label("dimension")
    unit = fields.String(required=True, allow_none=True,
                         metadata={"description": "null: the whole organisation."})
    unit_label = label("unit", allow_none=True)
    instrument = fields.String(required=True, allow_none=True)
    before = fields.Float(required=True, allow_none=True)
    after = fields.Float(required=True, allow_none=True)
    change = fields.Float(required=True, allow_none=True)
    before_assessed_on = iso(required=True, allow_none=True)
    after_assessed_on = iso(required=True, allow_none=True)
    scale_min = fields.Float(allow_none=True, metadata={
        "description": "The lowest score of the dimension's scale (its instrument)."})
    scale_max = fields.Float(allow_none=True, metadata={
        "description": "The highest score of the dimension's scale."})


class Maturity(OfProgramme):
    items = fields.List(fields.Nested(MaturityRow), required=True)


class MaturityArgs(ConsistencyArgs):
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "json (default), csv, xlsx or ndjson: the rows as a file, "
                                 "each key column followed by its name (`*_label`)."},
    )
    sep = fields.String(
        validate=validate.OneOf(SEPARATORS),
        metadata={"description": "CSV separator: comma (default) or semicolon."},
    )


class InstrumentDimension(Base):
    dimension = fields.String(required=True, metadata={
        "description": "The key assessments are stored under; it never changes."})
    dimension_label = label("dimension")
    name_sv = fields.String(required=True)
    name_en = fields.String(required=True)
    category = fields.String(required=True, allow_none=True)
    scale_min = fields.Float(required=True)
    scale_max = fields.Float(required=True)
    assessed = fields.Boolean(required=True, metadata={
        "description": "Scored in some assessment: its scale can no longer change."})


class MaturityInstrument(OfProgramme):
    items = fields.List(fields.Nested(InstrumentDimension), required=True)


class TokenOut(Base):
    id = fields.UUID(required=True)
    role = fields.String(required=True)
    role_label = label("role")
    label = fields.String(required=True, allow_none=True)
    issued_on = fields.DateTime(required=True)
    revoked = fields.Boolean(required=True)
    revoked_on = fields.DateTime(required=True, allow_none=True)


class TokenList(Base):
    items = fields.List(fields.Nested(TokenOut), required=True)
