"""Translated names of the domain's words, and option lists for the templates."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from api.web.setup import format_day, week_label
from domain.values import THEME_NAMES

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
    "Programme.MaturityInstrumentDefined": _l("Maturity instrument defined"),
    "Programme.Closed": _l("Programme closed"),
    "Programme.CohortEnrolled": _l("Participants enrolled from a list"),
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
    "Reflection.Shared": _l("Reflection shared with the course group"),
    "Reflection.Unshared": _l("Reflection kept for the researchers only"),
    "Decision.Shared": _l("Decision shared with the course group"),
    "Decision.Unshared": _l("Decision kept for the researchers only"),
    "Experiment.Shared": _l("Experiment shared with the course group"),
    "Experiment.Unshared": _l("Experiment kept for the researchers only"),
    "Capability.Shared": _l("Capability shared with the course group"),
    "Capability.Unshared": _l("Capability kept for the researchers only"),
    "Experiment.TeamMemberAdded": _l("Team member added"),
    "Experiment.TeamMemberRemoved": _l("Team member removed"),
    "Experiment.TeamMemberJoined": _l("Joined the team"),
    "Capability.TeamMemberAdded": _l("Team member added"),
    "Capability.TeamMemberRemoved": _l("Team member removed"),
    "Capability.TeamMemberJoined": _l("Joined the team"),
}
# who acted, as the replay shows it (``projections.asof.actor_label``): a pseudonym, or one
# of these
ACTORS = {"participant": _l("participant"), "erased participant": _l("erased participant"),
          "researcher": _l("researcher"), "evaluator": _l("evaluator"),
          "system": _l("system")}
# A record's texts as anyone reads them (the author, colleagues, researchers): named without
# the form's "my" and "I" ("Example from my practice" headed a colleague's example)
RECORD_FIELDS = {
    "reflection": (("example", _l("Example from practice")),
                   ("deficiency", _l("Deficiency")), ("solutions", _l("Possible solutions"))),
    "decision": (("statement", _l("Decision")), ("rationale", _l("Rationale"))),
    "experiment": (("aim", _l("Aim")), ("change", _l("Change to try")),
                   ("prediction", _l("Expected to happen")),
                   ("measure", _l("Measure")),
                   ("result", _l("Result against the prediction")),
                   ("learning", _l("What was learnt"))),
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
    "dimension_name": lambda k, programme=None: dimension_name(k, programme),
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


# ------------------------------------------------------------------ names beside keys
# One place for the names of keys, used by the pages (GLOBALS above, in the page's language)
# and by the JSON API and every export (in the language asked for: ``Accept-Language`` or
# ``?lang=``, default Swedish). The convention (README, "For evaluators"): every key field
# keeps its key, and a sibling ``<field>_label`` holds its name, of the same shape (a string
# for a string, a list for a list, null for null). ``summary`` is written in that language.

LABEL_LANGUAGES = ("sv", "en")
DEFAULT_LABEL_LANGUAGE = "sv"

# what a record or an event is about (the timeline's ``kind`` also has these two)
SUBJECT_KINDS = {**KINDS, "programme": _l("Programme"), "participant": _l("Participant")}
RELATIONS = {"based_on": _l("based on"), "previous_cycle": _l("previous cycle")}
ACCOUNT_ROLES = {"researcher": _l("Researcher"), "evaluator": _l("Evaluator")}
# maturity dimensions: the default instrument's two, for when no programme is at hand; a
# programme's own instrument names its dimensions (``dimension_names``)
DIMENSIONS = {"digital_capability": _l("Digital capability"),
              "digital_legacy": _l("Digital legacy")}

# field -> the table that names its keys ("units": the programme's own unit names;
# "areas": its development areas' names; "themes": domain.values.THEME_NAMES)
LABELLED_FIELDS: dict[str, Any] = {
    "theme": "themes", "kind": SUBJECT_KINDS, "event_type": EVENT_TYPES,
    "type": {**EVENT_TYPES, **RELATIONS}, "relation": RELATIONS,
    "unit": "units", "unit_a": "units", "unit_b": "units", "units": "units",
    "unit_keys": "units", "stage": STAGES, "outcome": OUTCOMES,
    "role": {**ROLES, **ACCOUNT_ROLES}, "dimension": "dimensions", "actor": ACTORS,
    "merged": "areas",
}


def label_field(name: str) -> str:
    return f"{name}_label"


def labelled_columns(columns: list[str]) -> list[str]:
    """Table columns with each key column followed by its ``<column>_label``."""
    out: list[str] = []
    for c in columns:
        out.append(c)
        if c in LABELLED_FIELDS and label_field(c) not in columns:
            out.append(label_field(c))
    return out


def pick_language(requested: str | None = None, accept: Any = None) -> str:
    """``requested`` (``?lang=``) when it is one we have, else the best of the
    ``Accept-Language`` header (werkzeug's accept object), else Swedish."""
    if requested:
        lang = requested.strip().lower()[:2]
        if lang in LABEL_LANGUAGES:
            return lang
    if accept is not None:
        best = accept.best_match(LABEL_LANGUAGES)
        if best:
            return best
        for value, _quality in accept:  # "en-GB", "sv-FI": by the language alone
            if value[:2].lower() in LABEL_LANGUAGES:
                return value[:2].lower()
    return DEFAULT_LABEL_LANGUAGE


def _translations(lang: str) -> Any:
    from babel.support import NullTranslations, Translations

    from api.web.setup import TRANSLATIONS

    if lang not in _CATALOGUES:
        _CATALOGUES[lang] = (NullTranslations() if lang == "en" else
                             Translations.load(str(TRANSLATIONS), [lang]))
    return _CATALOGUES[lang]


_CATALOGUES: dict[str, Any] = {}


def translate(text: Any, lang: str, **params: Any) -> str:
    """``text`` (a string or a lazy string of this module) in ``lang``, with or without a
    request (``framdrift export`` has none)."""
    msgid = text._args[0] if hasattr(text, "_args") and text._args else str(text)
    found = _translations(lang).gettext(msgid)
    return found % params if params else found


# The English summaries of domain.describe, as templates (most specific first): a
# summary is written in another language by matching it and translating the template.
SUMMARIES = (
    _l("took part of material %(material)s"),
    _l("attended meeting %(meeting)s"),
    _l("absent from meeting %(meeting)s"),
    _l("reflection %(id)s logged for week %(week)s on material %(material)s (%(areas)s)"),
    _l("reflection %(id)s logged for week %(week)s on material %(material)s"),
    _l("reflection %(id)s logged for week %(week)s (%(areas)s)"),
    _l("reflection %(id)s logged for week %(week)s"),
    _l("programme '%(title)s' planned for %(organisation)s [synthetic]: %(weeks)s weeks "
       "(%(themes)s), %(unit_count)s units"),
    _l("programme '%(title)s' planned for %(organisation)s: %(weeks)s weeks (%(themes)s), "
       "%(unit_count)s units"),
    _l("unit %(name)s registered"),
    _l("%(material_kind)s '%(title)s' published for week %(week)s"),
    _l("check-in %(meeting)s held on %(day)s (week %(week)s)"),
    _l("session %(meeting)s held on %(day)s (week %(week)s)"),
    _l("development area %(area)s '%(name)s' identified"),
    _l("development area %(area)s renamed '%(name)s'"),
    _l("development area %(area)s merged into %(target)s"),
    _l("recommendation %(recommendation)s adopted (%(areas)s)"),
    _l("maturity assessed %(phase)s (%(instrument)s): %(scores)s"),
    _l("maturity instrument defined: %(dimensions)s"),
    _l("programme closed"),
    _l("participant enrolled as %(role)s in unit %(unit)s"),
    _l("consent to research use given"),
    _l("consent to research use withdrawn"),
    _l("participant erased (personal data made unreadable)"),
    _l("reflection %(id)s amended"),
    _l("reflection %(id)s withdrawn"),
    _l("decision %(id)s made for week %(week)s, based on %(links)s; units %(units)s"),
    _l("decision %(id)s revised, based on %(links)s"),
    _l("decision %(id)s reversed"),
    _l("experiment %(id)s (cycle %(cycle)s) planned for week %(week)s, based on %(links)s; "
       "units %(units)s"),
    _l("experiment %(id)s planned for week %(week)s, based on %(links)s; units %(units)s"),
    _l("experiment %(id)s started in week %(week)s"),
    _l("observation recorded on experiment %(id)s"),
    _l("experiment %(id)s evaluated"),
    _l("experiment %(id)s concluded: %(outcome)s"),
    _l("experiment %(id)s continues in %(next)s"),
    _l("capability %(id)s established for week %(week)s from experiments %(links)s; "
       "units %(units)s"),
    _l("capability %(id)s refined"),
    _l("capability %(id)s applied in %(unit)s"),
    _l("%(kind)s %(id)s shared with the course group"),
    _l("%(kind)s %(id)s for the researchers only"),
    _l("%(kind)s %(id)s: a team member added"),
    _l("%(kind)s %(id)s: a team member removed"),
    _l("%(kind)s %(id)s: a participant joined the team"),
)
_NAMED_IN_ENGLISH = ("scores", "dimensions")  # keys in an English summary, named
LEFT_OUT = _l("(left out)")  # projections.asof.scrub's word for a record left out
_SHORT_ID = r"(?:[0-9a-f]{8}|\(left out\))"
_PLACES = {"week": r"[0-9]+", "weeks": r"[0-9]+", "unit_count": r"[0-9]+", "cycle": r"[0-9]+",
           "id": _SHORT_ID, "next": _SHORT_ID, "target": r"\S+", "area": r"\S+",
           "meeting": r"\S+", "material": r"\S+", "recommendation": r"\S+",
           "day": r"[0-9-]+", "material_kind": r"\w+", "role": r"\w+", "outcome": r"\w+",
           "phase": r"\w+", "kind": r"\w+"}


def _pattern(msgid: str) -> Any:
    import re

    parts = re.split(r"%\((\w+)\)s", msgid)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>{_PLACES.get(p, '.+?')})"
                    for i, p in enumerate(parts))
    return re.compile(f"^{regex}$", re.DOTALL)


_SUMMARY_PATTERNS: list[tuple[Any, Any]] = []


def _summary_patterns() -> list[tuple[Any, Any]]:
    if not _SUMMARY_PATTERNS:
        _SUMMARY_PATTERNS.extend((_pattern(m._args[0]), m) for m in SUMMARIES)
    return _SUMMARY_PATTERNS


class Labeller:
    """Names of keys in one language, for one programme (its units and areas)."""

    def __init__(self, lang: str = DEFAULT_LABEL_LANGUAGE,
                 units: dict[str, str] | None = None, areas: dict[str, str] | None = None,
                 dimensions: dict[str, dict[str, str]] | None = None):
        self.lang = lang if lang in LABEL_LANGUAGES else DEFAULT_LABEL_LANGUAGE
        self.units = units or {}
        self.areas = areas or {}
        self.dimensions = dimensions or {}

    def name(self, field: str, key: Any) -> Any:
        """The name of ``key`` of ``field`` (a list of names for a list); None for None;
        the key itself when it has no name."""
        if key is None:
            return None
        if isinstance(key, (list, tuple)):
            return [self.name(field, k) for k in key]
        table = LABELLED_FIELDS.get(field)
        if table == "themes":
            names = THEME_NAMES.get(key)
            return names.get(self.lang, names["en"]) if names else str(key)
        if table == "units":
            return self.units.get(key, str(key))
        if table == "areas":
            return self.areas.get(key, str(key))
        if table == "dimensions":
            names = self.dimensions.get(key)
            if names:
                return names.get(self.lang) or names.get("en") or str(key)
            return translate(DIMENSIONS[key], self.lang) if key in DIMENSIONS else str(key)
        if isinstance(table, dict) and key in table:
            return translate(table[key], self.lang)
        return str(key)

    def summary(self, text: str | None, event_type: str | None = None) -> str | None:
        """An English summary (domain.describe) in this language; a summary it does not
        know is named by its event type."""
        if not text or (self.lang == "en" and not text.startswith("maturity ")):
            return text  # English but for the dimensions' keys in a maturity summary
        for pattern, msgid in _summary_patterns():
            found = pattern.match(text)
            if found:
                # English keeps its words; only the dimensions' keys become their names
                params = {k: self._part(k, v) if self.lang != "en" or k in _NAMED_IN_ENGLISH
                          else v for k, v in found.groupdict().items()}
                return translate(msgid, self.lang, **params)
        if event_type in EVENT_TYPES:
            return translate(EVENT_TYPES[event_type], self.lang)
        return text

    def _part(self, name: str, value: str) -> str:
        left_out = translate(LEFT_OUT, self.lang)
        value = value.replace("(left out)", left_out)
        if name == "material_kind" and value in MATERIAL_KINDS:
            return translate(MATERIAL_KINDS[value], self.lang)
        if name == "kind" and value in KINDS:
            return translate(KINDS[value], self.lang).lower()
        if name == "role" and value in ROLES:
            return translate(ROLES[value], self.lang).lower()
        if name == "outcome" and value in OUTCOMES:
            return translate(OUTCOMES[value], self.lang)
        if name == "phase" and value in PHASES:
            return translate(PHASES[value], self.lang)
        if name == "unit":
            return self.units.get(value, value)
        if name == "units":
            return ", ".join(self.units.get(u, u) for u in value.split(", "))
        if name == "themes":
            return ", ".join(str(self.name("theme", t)) for t in value.split(", "))
        if name == "scores":  # "digital_capability 35, digital_legacy 67.5"
            return ", ".join(f"{self.name('dimension', k)} {v}" for k, _sp, v in
                             (p.rpartition(" ") for p in value.split(", ")))
        if name == "dimensions":  # "digital_capability (0–100), ..."
            return ", ".join(f"{self.name('dimension', k)} ({v}" for k, _sp, v in
                             (p.rpartition(" (") for p in value.split(", ")))
        return value

    def add(self, data: Any) -> Any:
        """``data`` (rows, answers: dicts and lists, nested) with ``<field>_label`` after
        every key field and summaries in this language. Only names of keys are added
        (themes, units, kinds, ...): never anything a participant wrote."""
        if isinstance(data, list):
            return [self.add(v) for v in data]
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == "summary" and isinstance(value, str):
                out[key] = self.summary(value, data.get("event_type") or data.get("type"))
            elif isinstance(value, (dict, list)):
                out[key] = self.add(value)
            else:  # a scalar (most values: counts), as add() would return it
                out[key] = value
            if key in LABELLED_FIELDS and label_field(key) not in data and _keys(value):
                out[label_field(key)] = self.name(key, value)
        return out


def _keys(value: Any) -> bool:
    """A key, a list of keys or None (not a count, nor a list of rows)."""
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, str) for v in value)
    return value is None or isinstance(value, str)


def unit_names(programme: dict[str, Any] | None) -> dict[str, str]:
    """key -> name of a programme's units (``programme_to_dict`` or an as-of state)."""
    return {u["key"]: u.get("name") or u["key"] for u in (programme or {}).get("units", [])}


def dimension_names(programme: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """key -> {"sv": name, "en": name} of a programme's maturity dimensions (its
    instrument; an as-of state without one: empty, so the default names apply)."""
    return {d["key"]: {"sv": d["name_sv"], "en": d["name_en"]}
            for d in (programme or {}).get("instrument") or []}


def dimension_name(key: str, programme: dict[str, Any] | None = None,
                   lang: str | None = None) -> str:
    """A dimension's name on a page: from the programme's instrument (``g.programme`` when
    not given) in the page's language."""
    from flask import g
    from flask_babel import get_locale

    if programme is None:
        programme = g.get("programme")
    if lang is None:
        lang = str(get_locale() or DEFAULT_LABEL_LANGUAGE)[:2]
    return str(Labeller(lang, dimensions=dimension_names(programme)).name("dimension", key))
