"""The aggregates of an action-research programme.

One aggregate per record (a programme, a participant's enrolment, each
reflection, decision, experiment and capability), each with past-tense events.
Guards that need only the aggregate's own state live here and raise named
domain errors; guards that need other records (enrolment, "based on" links)
live in the application service.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain import errors
from domain.context import actor_cvar, now, request_id_cvar
from domain.privacy import PersonalData
from domain.values import (
    Dimension,
    MaterialKind,
    MeetingKind,
    Outcome,
    Phase,
    RecordKind,
    Role,
    Stage,
    UnitKind,
    Week,
)

MAX_TEXT = 5000
MAX_LABEL = 200
MAX_DIMENSIONS = 30
_DIMENSION_KEY = re.compile(r"[a-z0-9_]{1,80}")
# Event fields naming what a programme command created, so a retry can answer the same.
_RESULT_KEYS = ("material_id", "meeting_id", "area_id", "recommendation_id", "assessment_id")
_ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://framdrift.example/ids")


def record_id_for(kind: str, request_id: str | None) -> UUID:
    """A record's id: derived from the client's request id so retries land on one record."""
    if request_id:
        return _derived_id(kind, request_id)
    return uuid4()


@lru_cache(maxsize=4096)
def _derived_id(kind: str, request_id: str) -> UUID:
    """Cached: a bulk load derives each new record's id several times (issue 14)."""
    return uuid5(_ID_NAMESPACE, f"{kind}:{request_id}")


def pseudonym_for(participant_id: UUID) -> str:
    """A stable, short pseudonym; reveals nothing about the person."""
    return "P-" + hashlib.sha256(participant_id.bytes).hexdigest()[:6]


# C0 and C1 control characters, DEL, the Unicode line and paragraph separators and lone
# surrogates; a text (several lines) may hold tabs and line breaks, nothing else of these.
_NOT_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
ONE_LINE = "must be one line, without line breaks or control characters"
NO_CONTROL = "must not contain control characters"


def require_text(value: str, field_name: str, *, limit: int = MAX_TEXT) -> str:
    """A text of one or more lines (trimmed): not empty, at most ``limit`` characters, no
    control characters but tabs and line breaks."""
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidValueError("must not be empty", field=field_name)
    if len(value) > limit:
        raise errors.InvalidValueError(f"must be at most {limit} characters", field=field_name)
    if _NOT_IN_TEXT.search(value):
        raise errors.ControlCharacterError(NO_CONTROL, field=field_name)
    return value.strip()


def require_line(value: str, field_name: str, *, limit: int = MAX_LABEL) -> str:
    """A one-line value (trimmed): a title, a name, a theme, a unit ... ``require_text``,
    and no line break, tab or other control character either."""
    text = require_text(value, field_name, limit=limit)
    if _NOT_IN_LINE.search(text):
        raise errors.ControlCharacterError(ONE_LINE, field=field_name)
    return text


def require_no_control(value: str, field_name: str, *, one_line: bool = False) -> str:
    """The control-character rule alone, for optional values that may be empty."""
    if (_NOT_IN_LINE if one_line else _NOT_IN_TEXT).search(value):
        raise errors.ControlCharacterError(ONE_LINE if one_line else NO_CONTROL,
                                           field=field_name)
    return value


def meeting_days(week: Week) -> tuple[date, date]:
    """The days a meeting of a course week may be held: from the Monday of its first day's
    calendar week to the Sunday of its last day's (a Monday-to-Friday week: Monday to
    Sunday)."""
    return (week.starts_on - timedelta(days=week.starts_on.weekday()),
            week.ends_on + timedelta(days=6 - week.ends_on.weekday()))


class FramdriftAggregate(Aggregate):
    """Base for all aggregates: events know who acted, when, and for which request."""

    class Event(Aggregate.Event):
        actor: str = field(default_factory=actor_cvar.get, init=False)
        request_id: str | None = field(default_factory=request_id_cvar.get, init=False)

        @staticmethod
        def create_timestamp() -> Any:
            return now()

        def mutate(self, aggregate: Any) -> Any:
            aggregate = super().mutate(aggregate)
            request_id = self.__dict__.get("request_id")
            if aggregate is not None and request_id:
                aggregate.__dict__.setdefault("handled_requests", set()).add(request_id)
                for key in _RESULT_KEYS:
                    if key in self.__dict__:
                        aggregate.__dict__.setdefault("request_results", {})[request_id] = (
                            self.__dict__[key]
                        )
            return aggregate

    def has_handled(self, request_id: str | None) -> bool:
        return bool(request_id) and request_id in self.__dict__.get("handled_requests", set())

    def result_of(self, request_id: str | None) -> Any:
        """What the command of an already handled request created (an id), if anything."""
        return self.__dict__.get("request_results", {}).get(request_id)


# --------------------------------------------------------------------------- programme


class Programme(FramdriftAggregate):
    """One course run for one organisation (utbildningsinsats)."""

    @event("Planned")
    def __init__(
        self,
        organisation: str,
        title: str,
        weeks: list[Week],
        units: list[dict[str, str]],
        maturity_dimensions: list[str],
        synthetic: bool = False,
    ):
        self.organisation = organisation
        self.title = title
        self.weeks = list(weeks)
        self.units = {u["key"]: dict(u) for u in units}
        self.maturity_dimensions = list(maturity_dimensions)
        # Programmes planned before instruments existed (and those that keep the default)
        # read their dimensions by key: the default's names and scale 0–100.
        self.instrument = [Dimension.named_by_key(k) for k in maturity_dimensions]
        self.synthetic = synthetic
        self.materials: dict[str, dict[str, Any]] = {}
        self.meetings: dict[str, dict[str, Any]] = {}
        self.development_areas: dict[str, dict[str, Any]] = {}
        self.recommendations: list[dict[str, Any]] = []
        self.assessments: list[dict[str, Any]] = []
        self.closed = False

    @classmethod
    def plan(
        cls,
        *,
        organisation: str,
        title: str,
        weeks: list[Week],
        units: list[dict[str, str]] | None = None,
        maturity_dimensions: list[str] | None = None,
        synthetic: bool = False,
        request_id: str | None = None,
        instrument: list[Dimension] | None = None,
    ) -> Programme:
        organisation = require_line(organisation, "organisation")
        title = require_line(title, "title")
        if not weeks:
            raise errors.InvalidValueError("a programme needs at least one week", field="weeks")
        numbers = [w.number for w in weeks]
        if numbers != list(range(1, len(weeks) + 1)):
            raise errors.InvalidValueError("weeks must be numbered 1..n in order", field="weeks")
        for w in weeks:
            require_line(w.theme, "weeks")
            if w.ends_on < w.starts_on:
                raise errors.InvalidValueError(
                    f"week {w.number} ends before it starts", field="weeks"
                )
        for a, b in zip(weeks, weeks[1:], strict=False):
            if b.starts_on <= a.ends_on:
                raise errors.InvalidValueError(
                    f"week {b.number} starts before week {a.number} ends", field="weeks"
                )
        checked_units: list[dict[str, str]] = []
        for unit in units or []:
            checked = cls._checked_unit(unit)
            cls._require_new_unit(checked, checked_units, listed=True)
            checked_units.append(checked)
        checked_instrument = cls.checked_instrument(instrument) if instrument else None
        dims = ([d.key for d in checked_instrument] if checked_instrument else
                maturity_dimensions or ["digital_capability", "digital_legacy"])
        programme = cls._create(  # type: ignore[attr-defined]
            cls.Planned,
            organisation=organisation,
            title=title,
            weeks=list(weeks),
            units=checked_units,
            maturity_dimensions=[require_line(d, "maturity_dimensions", limit=80) for d in dims],
            synthetic=synthetic,
            id=record_id_for("programme", request_id),
        )
        if checked_instrument and checked_instrument != programme.instrument:
            programme._define_instrument(dimensions=checked_instrument)
        return programme

    @staticmethod
    def checked_instrument(dimensions: list[Dimension]) -> list[Dimension]:
        """An instrument's dimensions, trimmed and checked: at least one, at most
        ``MAX_DIMENSIONS``, unique keys of lower-case letters, digits and ``_``, both names,
        a finite scale whose minimum is below its maximum."""
        if not dimensions:
            raise errors.InvalidValueError("an instrument needs at least one dimension",
                                           field="dimensions")
        if len(dimensions) > MAX_DIMENSIONS:
            raise errors.InvalidValueError(
                f"at most {MAX_DIMENSIONS} dimensions", field="dimensions")
        out: list[Dimension] = []
        for d in dimensions:
            if not isinstance(d, Dimension):
                raise errors.InvalidValueError("not a dimension", field="dimensions")
            key = require_line(d.key, "key", limit=80)
            if not _DIMENSION_KEY.fullmatch(key):
                raise errors.InvalidValueError(
                    f"key {key!r}: use lower-case letters a-z, digits and _", field="key")
            category = (require_line(d.category, "category", limit=80)
                        if d.category and d.category.strip() else None)
            low, high = d.scale_min, d.scale_max
            for bound, name in ((low, "scale_min"), (high, "scale_max")):
                if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not (
                        -1e9 < float(bound) < 1e9):
                    raise errors.InvalidValueError("must be a number", field=name)
            if not float(low) < float(high):
                raise errors.InvalidValueError(
                    f"the scale of {key!r} must go from a lower to a higher number",
                    field="scale_max")
            out.append(Dimension(
                key=key, name_sv=require_line(d.name_sv, "name_sv", limit=80),
                name_en=require_line(d.name_en, "name_en", limit=80), category=category,
                scale_min=float(low), scale_max=float(high)))
        if len({d.key for d in out}) != len(out):
            raise errors.InvalidValueError("dimension keys must be unique", field="key")
        return out

    def dimension(self, key: str) -> Dimension | None:
        return next((d for d in self.instrument if d.key == key), None)

    def assessed_dimensions(self) -> set[str]:
        """Keys of the dimensions some assessment has scored."""
        return {k for a in self.assessments for k in a["scores"]}

    @staticmethod
    def _checked_unit(unit: dict[str, str]) -> dict[str, str]:
        key = require_line(unit.get("key", ""), "units", limit=80)
        name = require_line(unit.get("name", ""), "units")
        kind = unit.get("kind", UnitKind.ADMINISTRATION.value)
        if kind not in {k.value for k in UnitKind}:
            raise errors.InvalidValueError(f"unknown unit kind {kind!r}", field="units")
        return {"key": key, "name": name, "kind": kind}

    @staticmethod
    def _require_new_unit(unit: dict[str, str], units: Any, *, listed: bool = False) -> None:
        """Refuse a unit whose key, or whose name in any case, is among ``units`` (the
        programme's, or those before it in the list a programme is ``listed`` with)."""
        for other in units:
            if other["key"] == unit["key"]:
                raise errors.DuplicateUnitError(
                    f"unit keys must be unique: {unit['key']!r} is listed twice" if listed
                    else f"unit {unit['key']!r} already exists",
                    field="units" if listed else "key", what="key", value=unit["key"])
            if other["name"].strip().casefold() == unit["name"].casefold():
                raise errors.DuplicateUnitError(
                    f"unit names must be unique: {unit['name']!r} is listed twice" if listed
                    else f"a unit is already named {other['name']!r}",
                    field="units" if listed else "name", what="name", value=unit["name"])

    # guards -----------------------------------------------------------------

    def require_open(self) -> None:
        if self.closed:
            raise errors.ProgrammeClosedError("the programme is closed")

    def week(self, number: int) -> Week:
        if isinstance(number, bool) or not isinstance(number, int):
            raise errors.UnknownWeekError("week must be a whole number")
        for w in self.weeks:
            if w.number == number:
                return w
        raise errors.UnknownWeekError(
            f"week {number} does not exist in this programme (1..{len(self.weeks)})"
        )

    def current_week(self, day: date) -> int:
        """The week a record belongs to by default: the latest week begun by ``day``."""
        current = 1
        for w in self.weeks:
            if w.starts_on <= day:
                current = w.number
        return current

    def require_material(self, material_id: str) -> dict[str, Any]:
        if material_id not in self.materials:
            raise errors.UnknownMaterialError(f"material {material_id!r} is not in this programme")
        return self.materials[material_id]

    def require_meeting(self, meeting_id: str) -> dict[str, Any]:
        if meeting_id not in self.meetings:
            raise errors.UnknownMeetingError(f"meeting {meeting_id!r} is not in this programme")
        return self.meetings[meeting_id]

    def require_unit(self, unit: str, field_name: str = "unit") -> None:
        if unit not in self.units:
            raise errors.UnknownUnitError(
                f"unit {unit!r} is not part of this programme's organisation", field=field_name
            )

    def resolve_area(self, area_id: str) -> str:
        """The live area an id stands for (following merges)."""
        seen = set()
        while area_id in self.development_areas and area_id not in seen:
            seen.add(area_id)
            merged = self.development_areas[area_id].get("merged_into")
            if not merged:
                return area_id
            area_id = merged
        if area_id not in self.development_areas:
            raise errors.UnknownDevelopmentAreaError(
                f"development area {area_id!r} is not in this programme"
            )
        return area_id

    def require_areas(self, area_ids: list[str]) -> list[str]:
        for a in area_ids:
            if a not in self.development_areas:
                raise errors.UnknownDevelopmentAreaError(
                    f"development area {a!r} is not in this programme"
                )
        return list(dict.fromkeys(area_ids))

    # commands ---------------------------------------------------------------

    def register_unit(self, key: str, name: str, kind: str) -> None:
        self.require_open()
        unit = self._checked_unit({"key": key, "name": name, "kind": kind})
        self._require_new_unit(unit, self.units.values())
        self._register_unit(unit=unit)

    @event("UnitRegistered")
    def _register_unit(self, unit: dict[str, str]) -> None:
        self.units[unit["key"]] = dict(unit)

    def publish_material(
        self, *, week: int, kind: MaterialKind, title: str, url: str | None = None
    ) -> str:
        self.require_open()
        self.week(week)
        title = require_line(title, "title")
        if url is not None and len(url) > 2000:
            raise errors.InvalidValueError("must be at most 2000 characters", field="url")
        if url is not None:
            require_no_control(url, "url", one_line=True)
        material_id = f"m{len(self.materials) + 1}"
        self._publish_material(material_id=material_id, week=week, kind=kind, title=title, url=url)
        return material_id

    @event("MaterialPublished")
    def _publish_material(
        self, material_id: str, week: int, kind: MaterialKind, title: str, url: str | None
    ) -> None:
        self.materials[material_id] = {
            "material_id": material_id, "week": week, "kind": kind, "title": title, "url": url
        }

    def hold_meeting(self, *, kind: MeetingKind, week: int, held_on: date) -> str:
        self.require_open()
        course_week = self.week(week)
        if not isinstance(held_on, date) or isinstance(held_on, datetime):
            raise errors.InvalidValueError("must be a date", field="held_on")
        first, last = meeting_days(course_week)
        if not first <= held_on <= last:
            raise errors.DateOutsideWeekError(
                f"{held_on.isoformat()} is not in week {week} ({first.isoformat()} to "
                f"{last.isoformat()})", week=week, first=first, last=last)
        meeting_id = f"{'c' if kind is MeetingKind.CHECK_IN else 's'}{len(self.meetings) + 1}"
        if kind is MeetingKind.CHECK_IN:
            self._hold_check_in(meeting_id=meeting_id, week=week, held_on=held_on)
        else:
            self._hold_session(meeting_id=meeting_id, week=week, held_on=held_on)
        return meeting_id

    @event("CheckInHeld")
    def _hold_check_in(self, meeting_id: str, week: int, held_on: date) -> None:
        self.meetings[meeting_id] = {
            "meeting_id": meeting_id, "kind": MeetingKind.CHECK_IN, "week": week,
            "held_on": held_on,
        }

    @event("SessionHeld")
    def _hold_session(self, meeting_id: str, week: int, held_on: date) -> None:
        self.meetings[meeting_id] = {
            "meeting_id": meeting_id, "kind": MeetingKind.SESSION, "week": week,
            "held_on": held_on,
        }

    def identify_development_area(self, *, name: str, description: str = "") -> str:
        self.require_open()
        name = require_line(name, "name")
        if len(description) > MAX_TEXT:
            raise errors.InvalidValueError(
                f"must be at most {MAX_TEXT} characters", field="description"
            )
        require_no_control(description, "description")
        live = [a["name"].casefold() for a in self.development_areas.values()
                if not a.get("merged_into")]
        if name.casefold() in live:
            raise errors.InvalidValueError("a development area has that name", field="name")
        area_id = f"a{len(self.development_areas) + 1}"
        self._identify_area(area_id=area_id, name=name, description=description.strip())
        return area_id

    @event("DevelopmentAreaIdentified")
    def _identify_area(self, area_id: str, name: str, description: str) -> None:
        self.development_areas[area_id] = {
            "area_id": area_id, "name": name, "description": description, "merged_into": None
        }

    def rename_development_area(self, area_id: str, name: str) -> None:
        self.require_open()
        self.require_areas([area_id])
        name = require_line(name, "name")
        self._rename_area(area_id=area_id, name=name)

    @event("DevelopmentAreaRenamed")
    def _rename_area(self, area_id: str, name: str) -> None:
        self.development_areas[area_id]["name"] = name

    def merge_development_areas(self, source_id: str, target_id: str) -> None:
        self.require_open()
        self.require_areas([source_id, target_id])
        if self.resolve_area(source_id) == self.resolve_area(target_id):
            raise errors.InvalidValueError("cannot merge an area into itself", field="into")
        if self.development_areas[source_id].get("merged_into"):
            raise errors.InvalidValueError("that area is already merged", field="area_id")
        self._merge_areas(source_id=source_id, target_id=self.resolve_area(target_id))

    @event("DevelopmentAreasMerged")
    def _merge_areas(self, source_id: str, target_id: str) -> None:
        self.development_areas[source_id]["merged_into"] = target_id

    def adopt_recommendation(self, *, text: str, development_areas: list[str]) -> str:
        self.require_open()
        text = require_text(text, "text")
        areas = self.require_areas(development_areas)
        recommendation_id = f"r{len(self.recommendations) + 1}"
        self._adopt_recommendation(
            recommendation_id=recommendation_id, text=text, development_areas=areas
        )
        return recommendation_id

    @event("RecommendationAdopted")
    def _adopt_recommendation(
        self, recommendation_id: str, text: str, development_areas: list[str]
    ) -> None:
        self.recommendations.append(
            {"recommendation_id": recommendation_id, "text": text,
             "development_areas": list(development_areas)}
        )

    def assess_maturity(
        self,
        *,
        phase: Phase,
        instrument: str,
        assessed_on: date,
        scores: dict[str, float],
        unit: str | None = None,
    ) -> str:
        instrument = require_line(instrument, "instrument")
        if not isinstance(assessed_on, date) or isinstance(assessed_on, datetime):
            raise errors.InvalidValueError("must be a date", field="assessed_on")
        first_day = self.weeks[0].starts_on
        if phase is Phase.AFTER and assessed_on < first_day:
            raise errors.AssessedBeforeProgrammeError(
                f"an assessment after the programme cannot be dated {assessed_on.isoformat()}, "
                f"before its first day {first_day.isoformat()}", first_day=first_day)
        if not scores:
            raise errors.InvalidValueError("at least one dimension score", field="scores")
        for dim, score in scores.items():
            dimension = self.dimension(dim)
            if dimension is None:
                raise errors.InvalidValueError(
                    f"unknown dimension {dim!r}; this programme measures "
                    f"{', '.join(self.maturity_dimensions)}",
                    field="scores",
                )
            if not isinstance(score, (int, float)) or isinstance(score, bool) or not (
                dimension.fits(float(score))
            ):
                raise errors.ScoreOutOfScaleError(
                    f"score for {dim!r} ({dimension.name_en}) must be a number from "
                    f"{dimension.scale_min:g} to {dimension.scale_max:g}",
                    dimension=dim, low=dimension.scale_min, high=dimension.scale_max,
                )
        if unit is not None:
            self.require_unit(unit)
        assessment_id = f"ma{len(self.assessments) + 1}"
        self._assess(
            assessment_id=assessment_id, phase=phase, instrument=instrument,
            assessed_on=assessed_on, scores={k: float(v) for k, v in scores.items()}, unit=unit,
        )
        return assessment_id

    @event("MaturityAssessed")
    def _assess(
        self,
        assessment_id: str,
        phase: Phase,
        instrument: str,
        assessed_on: date,
        scores: dict[str, float],
        unit: str | None,
    ) -> None:
        self.assessments.append(
            {"assessment_id": assessment_id, "phase": phase, "instrument": instrument,
             "assessed_on": assessed_on, "scores": dict(scores), "unit": unit}
        )

    def define_maturity_instrument(self, dimensions: list[Dimension]) -> None:
        """A new version of the instrument: dimensions added, renamed (the key stays, so
        their assessments keep their meaning), given a category, or re-scaled while
        unscored. A scored dimension can be neither re-scaled nor removed
        (``InstrumentChangeError``). Allowed after closing, as "after" assessments are."""
        checked = self.checked_instrument(dimensions)
        new = {d.key: d for d in checked}
        for key in sorted(self.assessed_dimensions()):
            old = self.dimension(key)
            if key not in new:
                raise errors.InstrumentChangeError(
                    f"dimension {key!r} has assessments and cannot be removed")
            if old is not None and (old.scale_min, old.scale_max) != (
                    new[key].scale_min, new[key].scale_max):
                raise errors.InstrumentChangeError(
                    f"the scale of {key!r} cannot change from {old.scale}: it has "
                    f"assessments on that scale")
        if checked != self.instrument:
            self._define_instrument(dimensions=checked)

    @event("MaturityInstrumentDefined")
    def _define_instrument(self, dimensions: list[Dimension]) -> None:
        self.instrument = list(dimensions)
        self.maturity_dimensions = [d.key for d in dimensions]

    def close(self) -> None:
        self.require_open()
        self._close()

    @event("Closed")
    def _close(self) -> None:
        self.closed = True

    def note_cohort_enrolled(self, size: int) -> None:
        """A list of ``size`` participants is enrolled in the same transaction as this event
        (ADR 0012, 0022): it takes the programme's next version, so two lists enrolled at
        once conflict and the second one checks its rows again instead of enrolling twice."""
        self.require_open()
        self._cohort_enrolled(size=size)

    @event("CohortEnrolled")
    def _cohort_enrolled(self, size: int) -> None:
        self.cohorts_enrolled = self.__dict__.get("cohorts_enrolled", 0) + 1


# ------------------------------------------------------------------------ participant


class Participant(FramdriftAggregate):
    """A person's enrolment in one programme (deltagare)."""

    @event("Enrolled")
    def __init__(
        self,
        programme_id: UUID,
        name: PersonalData,
        email: PersonalData | None,
        role: Role,
        unit: str,
        pseudonym: str,
    ):
        self.programme_id = programme_id
        self.name = name
        self.email = email
        self.role = role
        self.unit = unit
        self.pseudonym = pseudonym
        self.consent = False
        self.erased = False
        self.materials: set[str] = set()
        self.attendance: dict[str, bool] = {}

    @classmethod
    def enrol(
        cls,
        programme: Programme,
        *,
        name: str,
        email: str | None,
        role: Role,
        unit: str,
        request_id: str | None = None,
    ) -> Participant:
        programme.require_open()
        programme.require_unit(unit)
        name = require_line(name, "name")
        if email is not None:
            email = require_no_control(email.strip(), "email", one_line=True)
            if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
                raise errors.InvalidValueError("is not an e-mail address", field="email")
        participant_id = record_id_for("participant", request_id)
        return cls._create(  # type: ignore[attr-defined]
            cls.Enrolled,
            programme_id=programme.id,
            name=PersonalData(participant_id, name),
            email=PersonalData(participant_id, email) if email else None,
            role=role,
            unit=unit,
            pseudonym=pseudonym_for(participant_id),
            id=participant_id,
        )

    def require_active(self) -> None:
        if self.erased:
            raise errors.ParticipantErasedError("this participant has been erased")

    def give_consent(self) -> None:
        self.require_active()
        if not self.consent:
            self._give_consent()

    @event("ConsentGiven")
    def _give_consent(self) -> None:
        self.consent = True

    def withdraw_consent(self) -> None:
        self.require_active()
        if self.consent:
            self._withdraw_consent()

    @event("ConsentWithdrawn")
    def _withdraw_consent(self) -> None:
        self.consent = False

    def take_part_of(self, material_id: str) -> None:
        self.require_active()
        if material_id not in self.materials:
            self._take_part_of(material_id=material_id)

    @event("MaterialTakenPartOf")
    def _take_part_of(self, material_id: str) -> None:
        self.materials.add(material_id)

    def record_attendance(self, meeting_id: str, attended: bool) -> None:
        self.require_active()
        if self.attendance.get(meeting_id) is not attended:
            self._record_attendance(meeting_id=meeting_id, attended=attended)

    @event("AttendanceRecorded")
    def _record_attendance(self, meeting_id: str, attended: bool) -> None:
        self.attendance[meeting_id] = attended

    def erase(self) -> None:
        if not self.erased:
            self._erase()

    @event("Erased")
    def _erase(self) -> None:
        self.erased = True
        self.consent = False


# ----------------------------------------------------------------------------- records


class Record(FramdriftAggregate):
    """What participants write: reflections, decisions, experiments, capabilities."""

    KIND = RecordKind.REFLECTION  # overridden by each kind
    # Records of stores from before sharing existed were for the researchers only.
    shared = False

    def require_author(self, participant_id: UUID) -> None:
        if participant_id != self.participant_id:
            raise errors.NotAuthorError("only the participant who wrote this record may change it")

    @property
    def members(self) -> list[UUID]:
        """The author and the team (only experiments and capabilities have a team)."""
        return [self.participant_id, *self.__dict__.get("team", [])]

    def require_member(self, participant_id: UUID) -> None:
        """The author or a member of the record's team (docs/adr/0007-sharing-and-teams.md)."""
        if participant_id not in self.members:
            raise errors.NotTeamMemberError(
                "only the author or a member of the team may take this record forward")

    def visible_to(self, participant_id: UUID | None) -> bool:
        """May ``participant_id`` see and build on this record? Their own or their team's,
        or one its author shared with the course group."""
        return self.shared or participant_id in self.members

    def share(self) -> None:
        """Share with the course group (the programme's participants and researchers)."""
        if not self.shared:
            self._share()

    def unshare(self) -> None:
        """For the researchers only again; links colleagues already made stay (history)."""
        if self.shared:
            self._unshare()

    def _share(self) -> None:  # an event of each kind (Reflection.Shared, ...)
        raise NotImplementedError

    def _unshare(self) -> None:
        raise NotImplementedError

    @property
    def is_void(self) -> bool:
        """Withdrawn or reversed records cannot be built upon."""
        return False


class Teamed:
    """The team commands of experiments and capabilities (docs/adr/0007-sharing-and-teams.md).

    Each of the two classes keeps its own ``@event`` methods (``_add_member``, ``_remove_member``,
    ``_join``), so the stored topics name the kind (``Experiment.TeamMemberAdded``)."""

    def add_team_member(self, member_id: UUID) -> None:
        """The author adds a colleague (the application checks who acts and who is added)."""
        if member_id == self.participant_id:
            raise errors.InvalidValueError("the author is in the team already", field="team")
        if member_id not in self.team:
            self._add_member(member_id=member_id)

    def remove_team_member(self, member_id: UUID) -> None:
        if member_id == self.participant_id:
            raise errors.InvalidValueError("the author cannot leave the team", field="team")
        if member_id in self.team:
            self._remove_member(member_id=member_id)

    def join(self, member_id: UUID) -> None:
        """A colleague joins on their own: only a record shared with the course group."""
        if member_id in self.members:
            return
        if not self.shared:
            raise errors.NotSharedError(
                "only a record shared with the course group can be joined")
        self._join(member_id=member_id)


def _personal(author: UUID, value: str, field_name: str) -> PersonalData:
    return PersonalData(author, require_text(value, field_name))


def _optional_personal(author: UUID, value: str | None, field_name: str) -> PersonalData | None:
    if value is None or not value.strip():
        return None
    return _personal(author, value, field_name)


class Reflection(Record):
    """A participant relating material to their own practice."""

    KIND = RecordKind.REFLECTION

    @event("Logged")
    def __init__(
        self,
        programme_id: UUID,
        participant_id: UUID,
        unit: str,
        week: int,
        material_id: str | None,
        example: PersonalData,
        deficiency: PersonalData | None,
        solutions: PersonalData | None,
        development_areas: list[str],
        shared: bool = False,
    ):
        self.shared = shared
        self.programme_id = programme_id
        self.participant_id = participant_id
        self.unit = unit
        self.week = week
        self.material_id = material_id
        self.example = example
        self.deficiency = deficiency
        self.solutions = solutions
        self.development_areas = list(development_areas)
        self.based_on: list[UUID] = []
        self.withdrawn = False
        self.withdrawal_reason: PersonalData | None = None
        self.amendments = 0

    @classmethod
    def log(
        cls,
        *,
        programme_id: UUID,
        author: Participant,
        week: int,
        material_id: str | None,
        example: str,
        deficiency: str | None,
        solutions: str | None,
        development_areas: list[str],
        shared: bool = False,
        request_id: str | None = None,
    ) -> Reflection:
        return cls._create(  # type: ignore[attr-defined]
            cls.Logged,
            programme_id=programme_id,
            participant_id=author.id,
            unit=author.unit,
            week=week,
            material_id=material_id,
            example=_personal(author.id, example, "example"),
            deficiency=_optional_personal(author.id, deficiency, "deficiency"),
            solutions=_optional_personal(author.id, solutions, "solutions"),
            development_areas=list(development_areas),
            shared=bool(shared),
            id=record_id_for("reflection", request_id),
        )

    @property
    def is_void(self) -> bool:
        return self.withdrawn

    def require_not_withdrawn(self) -> None:
        if self.withdrawn:
            raise errors.RecordWithdrawnError("this reflection has been withdrawn")

    def amend(
        self,
        *,
        example: str,
        deficiency: str | None,
        solutions: str | None,
        development_areas: list[str],
    ) -> None:
        self.require_not_withdrawn()
        self._amend(
            example=_personal(self.participant_id, example, "example"),
            deficiency=_optional_personal(self.participant_id, deficiency, "deficiency"),
            solutions=_optional_personal(self.participant_id, solutions, "solutions"),
            development_areas=list(development_areas),
        )

    @event("Amended")
    def _amend(
        self,
        example: PersonalData,
        deficiency: PersonalData | None,
        solutions: PersonalData | None,
        development_areas: list[str],
    ) -> None:
        self.example = example
        self.deficiency = deficiency
        self.solutions = solutions
        self.development_areas = list(development_areas)
        self.amendments += 1

    def withdraw(self, reason: str | None = None) -> None:
        self.require_not_withdrawn()
        self._withdraw(reason=_optional_personal(self.participant_id, reason, "reason"))

    @event("Withdrawn")
    def _withdraw(self, reason: PersonalData | None) -> None:
        self.withdrawn = True
        self.withdrawal_reason = reason

    @event("Shared")
    def _share(self) -> None:
        self.shared = True

    @event("Unshared")
    def _unshare(self) -> None:
        self.shared = False


class Decision(Record):
    """A commitment to act, based on reflections (beslut)."""

    KIND = RecordKind.DECISION

    @event("Made")
    def __init__(
        self,
        programme_id: UUID,
        participant_id: UUID,
        unit: str,
        week: int,
        statement: PersonalData,
        rationale: PersonalData | None,
        based_on: list[UUID],
        units: list[str],
        development_areas: list[str],
        shared: bool = False,
        participants: list[UUID] | None = None,
    ):
        self.shared = shared
        self.participants = list(participants or [])
        self.programme_id = programme_id
        self.participant_id = participant_id
        self.unit = unit
        self.week = week
        self.statement = statement
        self.rationale = rationale
        self.based_on = list(based_on)
        self.units = list(units)
        self.development_areas = list(development_areas)
        self.reversed = False
        self.reversal_reason: PersonalData | None = None
        self.revisions = 0

    @classmethod
    def make(
        cls,
        *,
        programme_id: UUID,
        author: Participant,
        week: int,
        statement: str,
        rationale: str | None,
        based_on: list[UUID],
        units: list[str],
        development_areas: list[str],
        shared: bool = False,
        participants: list[UUID] | None = None,
        request_id: str | None = None,
    ) -> Decision:
        return cls._create(  # type: ignore[attr-defined]
            cls.Made,
            programme_id=programme_id,
            participant_id=author.id,
            unit=author.unit,
            week=week,
            statement=_personal(author.id, statement, "statement"),
            rationale=_optional_personal(author.id, rationale, "rationale"),
            based_on=list(dict.fromkeys(based_on)),
            units=list(dict.fromkeys(units or [author.unit])),
            development_areas=list(development_areas),
            shared=bool(shared),
            participants=list(dict.fromkeys(participants or [])),
            id=record_id_for("decision", request_id),
        )

    @property
    def is_void(self) -> bool:
        return self.reversed

    def require_not_reversed(self) -> None:
        if self.reversed:
            raise errors.DecisionReversedError("this decision has been reversed")

    def revise(
        self, *, statement: str, rationale: str | None, based_on: list[UUID], units: list[str],
        participants: list[UUID] | None = None,
    ) -> None:
        """``participants``: None keeps the participants named so far."""
        self.require_not_reversed()
        self._revise(
            statement=_personal(self.participant_id, statement, "statement"),
            rationale=_optional_personal(self.participant_id, rationale, "rationale"),
            based_on=list(dict.fromkeys(based_on)),
            units=list(dict.fromkeys(units or [self.unit])),
            participants=list(dict.fromkeys(
                self.participants if participants is None else participants)),
        )

    @event("Revised")
    def _revise(
        self,
        statement: PersonalData,
        rationale: PersonalData | None,
        based_on: list[UUID],
        units: list[str],
        participants: list[UUID] | None = None,
    ) -> None:
        self.statement = statement
        self.rationale = rationale
        self.based_on = list(based_on)
        self.units = list(units)
        if participants is not None:  # (a revision of a store from before they were named)
            self.participants = list(participants)
        self.revisions += 1

    def reverse(self, reason: str) -> None:
        self.require_not_reversed()
        self._reverse(reason=_personal(self.participant_id, reason, "reason"))

    @event("Reversed")
    def _reverse(self, reason: PersonalData) -> None:
        self.reversed = True
        self.reversal_reason = reason

    @event("Shared")
    def _share(self) -> None:
        self.shared = True

    @event("Unshared")
    def _unshare(self) -> None:
        self.shared = False


class Experiment(Teamed, Record):
    """An action-research cycle: plan -> act -> observe -> reflect; adopt, adapt or abandon."""

    KIND = RecordKind.EXPERIMENT

    @event("Planned")
    def __init__(
        self,
        programme_id: UUID,
        participant_id: UUID,
        unit: str,
        week: int,
        aim: PersonalData,
        change: PersonalData,
        prediction: PersonalData,
        measure: PersonalData,
        based_on: list[UUID],
        units: list[str],
        development_areas: list[str],
        previous_cycle_id: UUID | None,
        cycle: int,
        shared: bool = False,
        team: list[UUID] | None = None,
    ):
        self.shared = shared
        self.team: list[UUID] = list(team or [])
        self.programme_id = programme_id
        self.participant_id = participant_id
        self.unit = unit
        self.week = week
        self.aim = aim
        self.change = change
        self.prediction = prediction
        self.measure = measure
        self.based_on = list(based_on)
        self.units = list(units)
        self.development_areas = list(development_areas)
        self.previous_cycle_id = previous_cycle_id
        self.next_cycle_id: UUID | None = None
        self.cycle = cycle
        self.stage = Stage.PLANNED
        self.observations: list[PersonalData] = []
        self.result: PersonalData | None = None
        self.learning: PersonalData | None = None
        self.outcome: Outcome | None = None
        self.started_week: int | None = None

    @classmethod
    def plan(
        cls,
        *,
        programme_id: UUID,
        author: Participant,
        week: int,
        aim: str,
        change: str,
        prediction: str,
        measure: str,
        based_on: list[UUID],
        units: list[str],
        development_areas: list[str],
        previous: Experiment | None = None,
        shared: bool = False,
        team: list[UUID] | None = None,
        request_id: str | None = None,
    ) -> Experiment:
        links = list(dict.fromkeys(based_on))
        if previous is not None and previous.id not in links:
            links.append(previous.id)
        return cls._create(  # type: ignore[attr-defined]
            cls.Planned,
            programme_id=programme_id,
            participant_id=author.id,
            unit=author.unit,
            week=week,
            aim=_personal(author.id, aim, "aim"),
            change=_personal(author.id, change, "change"),
            prediction=_personal(author.id, prediction, "prediction"),
            measure=_personal(author.id, measure, "measure"),
            based_on=links,
            units=list(dict.fromkeys(units or [author.unit])),
            development_areas=list(development_areas),
            previous_cycle_id=previous.id if previous else None,
            cycle=previous.cycle + 1 if previous else 1,
            shared=bool(shared),
            team=[m for m in dict.fromkeys(team or []) if m != author.id],
            id=record_id_for("experiment", request_id),
        )

    def _require_stage(self, expected: Stage, step: str) -> None:
        if self.stage is not expected:
            raise errors.LifecycleError(
                f"cannot {step} an experiment that is {self.stage.value}; "
                f"it must be {expected.value} (planned -> started -> evaluated -> concluded)"
            )

    def start(self, week: int) -> None:
        self._require_stage(Stage.PLANNED, "start")
        self._start(week=week)

    @event("Started")
    def _start(self, week: int) -> None:
        self.stage = Stage.STARTED
        self.started_week = week

    def record_observation(self, text: str, by: UUID | None = None) -> None:
        """``by``: the team member who observed (their words, sealed with their key)."""
        self._require_stage(Stage.STARTED, "record an observation on")
        self._observe(observation=_personal(by or self.participant_id, text, "observation"))

    @event("ObservationRecorded")
    def _observe(self, observation: PersonalData) -> None:
        self.observations.append(observation)

    def evaluate(self, *, result: str, learning: str, by: UUID | None = None) -> None:
        self._require_stage(Stage.STARTED, "evaluate")
        self._evaluate(
            result=_personal(by or self.participant_id, result, "result"),
            learning=_personal(by or self.participant_id, learning, "learning"),
        )

    @event("Evaluated")
    def _evaluate(self, result: PersonalData, learning: PersonalData) -> None:
        self.stage = Stage.EVALUATED
        self.result = result
        self.learning = learning

    def conclude(self, outcome: Outcome) -> None:
        self._require_stage(Stage.EVALUATED, "conclude")
        self._conclude(outcome=outcome)

    @event("Concluded")
    def _conclude(self, outcome: Outcome) -> None:
        self.stage = Stage.CONCLUDED
        self.outcome = outcome

    def require_can_continue(self) -> None:
        if self.stage is not Stage.CONCLUDED:
            raise errors.LifecycleError(
                "a next cycle can only be planned once this experiment is concluded"
            )
        if self.next_cycle_id is not None:
            raise errors.LifecycleError("a next cycle has already been planned")

    def link_next_cycle(self, next_cycle_id: UUID) -> None:
        self.require_can_continue()
        self._link_next(next_cycle_id=next_cycle_id)

    @event("NextCyclePlanned")
    def _link_next(self, next_cycle_id: UUID) -> None:
        self.next_cycle_id = next_cycle_id

    @property
    def is_void(self) -> bool:
        return False

    @event("Shared")
    def _share(self) -> None:
        self.shared = True

    @event("Unshared")
    def _unshare(self) -> None:
        self.shared = False

    @event("TeamMemberAdded")
    def _add_member(self, member_id: UUID) -> None:
        self.team.append(member_id)

    @event("TeamMemberRemoved")
    def _remove_member(self, member_id: UUID) -> None:
        self.team.remove(member_id)

    @event("TeamMemberJoined")
    def _join(self, member_id: UUID) -> None:
        self.team.append(member_id)


class Capability(Teamed, Record):
    """Organisational capability resulting from adopted experiments (förmåga)."""

    KIND = RecordKind.CAPABILITY

    @event("Established")
    def __init__(
        self,
        programme_id: UUID,
        participant_id: UUID,
        unit: str,
        week: int,
        name: PersonalData,
        description: PersonalData,
        based_on: list[UUID],
        units: list[str],
        development_areas: list[str],
        shared: bool = False,
        team: list[UUID] | None = None,
    ):
        self.shared = shared
        self.team: list[UUID] = list(team or [])
        self.programme_id = programme_id
        self.participant_id = participant_id
        self.unit = unit
        self.week = week
        self.name = name
        self.description = description
        self.based_on = list(based_on)
        self.units = list(units)
        self.development_areas = list(development_areas)
        self.refinements = 0
        self.applications: list[dict[str, Any]] = []

    @classmethod
    def establish(
        cls,
        *,
        programme_id: UUID,
        author: Participant,
        week: int,
        name: str,
        description: str,
        experiments: list[Experiment],
        units: list[str],
        development_areas: list[str],
        shared: bool = False,
        team: list[UUID] | None = None,
        request_id: str | None = None,
    ) -> Capability:
        if not experiments:
            raise errors.BasedOnError("a capability is established from at least one experiment")
        for e in experiments:
            if e.stage is not Stage.CONCLUDED or e.outcome is not Outcome.ADOPT:
                raise errors.BasedOnError(
                    "a capability can only come from experiments concluded with 'adopt'"
                )
        return cls._create(  # type: ignore[attr-defined]
            cls.Established,
            programme_id=programme_id,
            participant_id=author.id,
            unit=author.unit,
            week=week,
            name=PersonalData(author.id, require_line(name, "name")),
            description=_personal(author.id, description, "description"),
            based_on=[e.id for e in experiments],
            units=list(dict.fromkeys(units or [author.unit])),
            development_areas=list(development_areas),
            shared=bool(shared),
            team=[m for m in dict.fromkeys(team or []) if m != author.id],
            id=record_id_for("capability", request_id),
        )

    def refine(self, description: str, by: UUID | None = None) -> None:
        self._refine(description=_personal(by or self.participant_id, description,
                                           "description"))

    @event("Refined")
    def _refine(self, description: PersonalData) -> None:
        self.description = description
        self.refinements += 1

    def apply_in(self, unit: str, note: str, by: UUID | None = None) -> None:
        self._apply(unit=unit, note=_personal(by or self.participant_id, note, "note"))

    @event("Applied")
    def _apply(self, unit: str, note: PersonalData) -> None:
        self.applications.append({"unit": unit, "note": note})

    @event("Shared")
    def _share(self) -> None:
        self.shared = True

    @event("Unshared")
    def _unshare(self) -> None:
        self.shared = False

    @event("TeamMemberAdded")
    def _add_member(self, member_id: UUID) -> None:
        self.team.append(member_id)

    @event("TeamMemberRemoved")
    def _remove_member(self, member_id: UUID) -> None:
        self.team.remove(member_id)

    @event("TeamMemberJoined")
    def _join(self, member_id: UUID) -> None:
        self.team.append(member_id)


RECORD_CLASSES: dict[RecordKind, type[Record]] = {
    RecordKind.REFLECTION: Reflection,
    RecordKind.DECISION: Decision,
    RecordKind.EXPERIMENT: Experiment,
    RecordKind.CAPABILITY: Capability,
}

# What each kind of record may be "based on".
ALLOWED_BASES: dict[RecordKind, frozenset[RecordKind]] = {
    RecordKind.REFLECTION: frozenset(),
    RecordKind.DECISION: frozenset({RecordKind.REFLECTION, RecordKind.DECISION}),
    RecordKind.EXPERIMENT: frozenset(
        {RecordKind.REFLECTION, RecordKind.DECISION, RecordKind.EXPERIMENT}
    ),
    RecordKind.CAPABILITY: frozenset({RecordKind.EXPERIMENT}),
}
