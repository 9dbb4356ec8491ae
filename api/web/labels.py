"""Translated names of the domain's words, and option lists for the templates."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from api.web.setup import format_day, week_label

KINDS = {"reflection": _l("Reflection"), "decision": _l("Decision"),
         "experiment": _l("Experiment"), "capability": _l("Capability")}
STAGES = {"planned": _l("planned"), "started": _l("started"), "evaluated": _l("evaluated"),
          "concluded": _l("concluded")}
OUTCOMES = {"adopt": _l("adopt"), "adapt": _l("adapt"), "abandon": _l("abandon")}
MATERIAL_KINDS = {"film": _l("Film"), "podcast": _l("Podcast"), "report": _l("Report"),
                  "other": _l("Other")}
MEETING_KINDS = {"check_in": _l("Check-in"), "session": _l("Session")}
ROLES = {"manager": _l("Manager"), "expert": _l("Expert")}
UNIT_KINDS = {"administration": _l("administration"), "company": _l("municipal company")}
PHASES = {"before": _l("before the programme"), "after": _l("after the programme")}
EVENT_NAMES = {"Logged": _l("logged"), "Amended": _l("amended"), "Withdrawn": _l("withdrawn"),
               "Made": _l("made"), "Revised": _l("revised"), "Reversed": _l("reversed"),
               "Planned": _l("planned"), "Started": _l("started"),
               "ObservationRecorded": _l("observation recorded"),
               "Evaluated": _l("evaluated"), "Concluded": _l("concluded"),
               "NextCyclePlanned": _l("next cycle planned"), "Established": _l("established"),
               "Refined": _l("refined"), "Applied": _l("applied")}
KIND_HEADS = {"reflection": _l("Reflections"), "decision": _l("Decisions"),
              "experiment": _l("Experiments"), "capability": _l("Capabilities")}
# event types as the log names them ("Decision.Made"), for the replay pages
EVENT_TYPES = {
    "Programme.Planned": _l("Programme planned"),
    "Programme.UnitRegistered": _l("Unit registered"),
    "Programme.MaterialPublished": _l("Material published"),
    "Programme.CheckInHeld": _l("Check-in held"),
    "Programme.SessionHeld": _l("Session held"),
    "Programme.DevelopmentAreaIdentified": _l("Development area identified"),
    "Programme.DevelopmentAreaRenamed": _l("Development area renamed"),
    "Programme.DevelopmentAreasMerged": _l("Development areas merged"),
    "Programme.RecommendationAdopted": _l("Recommendation adopted"),
    "Programme.MaturityAssessed": _l("Maturity assessed"),
    "Programme.Closed": _l("Programme closed"),
    "Participant.Enrolled": _l("Participant enrolled"),
    "Participant.ConsentGiven": _l("Consent given"),
    "Participant.ConsentWithdrawn": _l("Consent withdrawn"),
    "Participant.MaterialTakenPartOf": _l("Material taken part of"),
    "Participant.AttendanceRecorded": _l("Attendance recorded"),
    "Participant.Erased": _l("Participant erased"),
    "Reflection.Logged": _l("Reflection logged"),
    "Reflection.Amended": _l("Reflection amended"),
    "Reflection.Withdrawn": _l("Reflection withdrawn"),
    "Decision.Made": _l("Decision made"),
    "Decision.Revised": _l("Decision revised"),
    "Decision.Reversed": _l("Decision reversed"),
    "Experiment.Planned": _l("Experiment planned"),
    "Experiment.Started": _l("Experiment started"),
    "Experiment.ObservationRecorded": _l("Observation recorded"),
    "Experiment.Evaluated": _l("Experiment evaluated"),
    "Experiment.Concluded": _l("Experiment concluded"),
    "Experiment.NextCyclePlanned": _l("Next experiment cycle planned"),
    "Capability.Established": _l("Capability established"),
    "Capability.Refined": _l("Capability refined"),
    "Capability.Applied": _l("Capability applied"),
}
# who acted, as the replay shows it (``projections.asof.actor_label``): a pseudonym, or one
# of these
ACTORS = {"participant": _l("participant"), "erased participant": _l("erased participant"),
          "researcher": _l("researcher"), "evaluator": _l("evaluator"),
          "system": _l("system")}
RECORD_FIELDS = {
    "reflection": (("example", _l("Example from my practice")),
                   ("deficiency", _l("Deficiency")), ("solutions", _l("Possible solutions"))),
    "decision": (("statement", _l("Decision")), ("rationale", _l("Rationale"))),
    "experiment": (("aim", _l("Aim")), ("change", _l("Change to try")),
                   ("prediction", _l("What I expect to happen")),
                   ("measure", _l("How I will know (measure)")),
                   ("result", _l("Result against the prediction")),
                   ("learning", _l("What I learnt"))),
    "capability": (("name", _l("Name of the capability")), ("description", _l("Description"))),
}


def _name(table: dict[str, Any], key: Any) -> str:
    return str(table.get(key, key or ""))


def _options(table: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in table.items()]


def week_options(weeks: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(w["number"], f"{week_label(w['number'], w['theme'])} ({format_day(w['starts_on'])})")
            for w in weeks]


def material_options(materials: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["material_id"], f"{week_label(m['week'])}: {m['title']}") for m in materials]


def area_options(areas: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["area_id"], a["name"]) for a in areas]


def record_options(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["id"], f"{_name(KINDS, r['kind'])}, {week_label(r['week'])}: {r['title']}")
            for r in records]


def unit_options(units: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(u["key"], u["name"]) for u in units]


GLOBALS = {
    "kind_name": lambda k: _name(KINDS, k),
    "stage_name": lambda k: _name(STAGES, k),
    "outcome_name": lambda k: _name(OUTCOMES, k),
    "material_kind_name": lambda k: _name(MATERIAL_KINDS, k),
    "meeting_kind_name": lambda k: _name(MEETING_KINDS, k),
    "role_name": lambda k: _name(ROLES, k),
    "unit_kind_name": lambda k: _name(UNIT_KINDS, k),
    "phase_name": lambda k: _name(PHASES, k),
    "event_name": lambda k: _name(EVENT_NAMES, k),
    "event_type_name": lambda k: _name(EVENT_TYPES, k),
    "kind_head": lambda k: _name(KIND_HEADS, k),
    "actor_name": lambda k: _name(ACTORS, k),
    "record_fields": lambda kind: RECORD_FIELDS.get(kind, ()),
    "outcome_options": lambda: _options(OUTCOMES),
    "material_kind_options": lambda: _options(MATERIAL_KINDS),
    "meeting_kind_options": lambda: _options(MEETING_KINDS),
    "unit_kind_options": lambda: _options(UNIT_KINDS),
    "phase_options": lambda: _options(PHASES),
    "role_options": lambda: _options(ROLES),
    "week_options": week_options,
    "material_options": material_options,
    "area_options": area_options,
    "record_options": record_options,
    "unit_options": unit_options,
    "unit_select_options": unit_options,
}
