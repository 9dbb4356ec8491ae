"""Marshmallow schemas for every web form, and turning their errors into messages.

Form posts are MultiDicts of strings; :func:`load` picks each schema field from the form
(lists with ``getlist``), validates it and returns ``(data, errors)`` where ``errors`` maps
a field name to translated messages. Texts refuse NUL and other control characters and
lone surrogates, one-line fields (:class:`Line`: titles, names, ...) line breaks and tabs
too, and all are limited to the domain's sizes, so no hostile value reaches the event
store (whose guards, ``domain.model.require_line``, say the same).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from domain import errors as domain_errors
from domain.accounts import MAX_LINK_DAYS
from domain.model import MAX_LABEL, MAX_TEXT

_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# and, in a one-line field, line breaks, tabs and the Unicode line/paragraph separators
_NOT_ONE_LINE = re.compile(r"[\t\n\r\u2028\u2029]")
MESSAGES = {
    "required": _l("Fill in this field."),
    "null": _l("Fill in this field."),
    "invalid": _l("This value is not valid."),
}


ONE_LINE_MESSAGE = _l("Write this on one line, without line breaks.")


def _clean(value: str) -> None:
    if _BAD_CHARS.search(value):
        raise ma.ValidationError(_l("Contains characters that cannot be stored."))


class Text(ma.fields.String):
    """A text field: trimmed, no control characters, at most ``limit`` characters."""

    default_error_messages = {**MESSAGES, "invalid": _l("Enter text.")}

    def __init__(self, *, limit: int = MAX_TEXT, required: bool = False, **kwargs: Any):
        self.limit = limit
        super().__init__(required=required, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        _clean(text)
        text = text.replace("\r\n", "\n").strip()
        if len(text) > self.limit:
            raise ma.ValidationError(
                _l("At most %(limit)s characters (you wrote %(n)s).", limit=self.limit,
                   n=len(text)))
        if self.required and not text:
            raise ma.ValidationError(MESSAGES["required"])
        return text


class Line(Text):
    """A one-line text field (a title, a name, a theme ...): :class:`Text`, and no line
    break or tab either (they would forge lines in ``framdrift log`` and in exports).
    Line breaks around the value are trimmed like spaces."""

    def __init__(self, *, limit: int = MAX_LABEL, **kwargs: Any):
        super().__init__(limit=limit, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _NOT_ONE_LINE.search(text):
            raise ma.ValidationError(ONE_LINE_MESSAGE)
        return text


class Whole(ma.fields.Integer):
    default_error_messages = {**MESSAGES, "invalid": _l("Enter a whole number."),
                              "too_large": _l("Enter a smaller number.")}

    def __init__(self, *, low: int, high: int, **kwargs: Any):
        super().__init__(validate=ma.validate.Range(
            low, high, error=_l("Enter a number from %(low)s to %(high)s.", low=low, high=high)
        ), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and len(value) > 12:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Day(ma.fields.Date):
    default_error_messages = {**MESSAGES, "invalid": _l("Enter a date as YYYY-MM-DD."),
                              "format": _l("Enter a date as YYYY-MM-DD.")}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and len(value) > 10:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Choice(ma.fields.String):
    default_error_messages = {**MESSAGES, "invalid": _l("Pick one of the choices.")}

    def __init__(self, choices: tuple[str, ...], **kwargs: Any):
        self.choices = choices
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in self.choices:
            raise ma.ValidationError(_l("Pick one of the choices."))
        return text


class Id(ma.fields.String):
    """An id picked from a list (a UUID or a short item id such as ``m3``)."""

    default_error_messages = {**MESSAGES, "invalid": _l("Pick one of the choices.")}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,80}", text):
            raise ma.ValidationError(_l("Pick one of the choices."))
        return text


def IdList() -> ma.fields.List:  # noqa: N802 - a field factory
    return ma.fields.List(Id(), load_default=list, validate=ma.validate.Length(
        max=200, error=_l("Too many choices.")))


S = TypeVar("S", bound=ma.Schema)
_SHARED: dict[type[ma.Schema], ma.Schema] = {}


def shared(schema: type[S]) -> S:
    """One instance of a form's schema per process: building one deep-copies its declared
    fields (a noticeable part of a form post's CPU), and loading never changes it."""
    instance = _SHARED.get(schema)
    if instance is None:
        instance = _SHARED.setdefault(schema, schema())
    return instance  # type: ignore[return-value]


class RequestSchema(ma.Schema):
    """Every form carries an idempotency key (passed to the application as request_id)."""

    class Meta:
        unknown = ma.EXCLUDE

    request_id = ma.fields.String(
        required=True, validate=ma.validate.Regexp(r"^[A-Za-z0-9-]{8,64}$",
                                                   error=_l("The form is damaged; reload it.")),
        error_messages=MESSAGES,
    )


class VersionedSchema(RequestSchema):
    expected_version = Whole(low=1, high=10_000_000, required=True, error_messages=MESSAGES)


# ------------------------------------------------------------------- participants


VISIBILITIES = ("shared", "researchers")


def Visibility() -> Choice:  # noqa: N802 - a field factory
    """Shared with the course group or only for the researchers (the default, ADR 0007)."""
    return Choice(VISIBILITIES, load_default="researchers")


class ReflectionForm(RequestSchema):
    week = Whole(low=1, high=60, required=True)
    material_id = Id(load_default=None)
    example = Text(required=True)
    deficiency = Text(load_default="")
    solutions = Text(load_default="")
    development_areas = IdList()
    visibility = Visibility()


class DecisionForm(RequestSchema):
    week = Whole(low=1, high=60, required=True)
    statement = Text(required=True)
    rationale = Text(load_default="")
    based_on = IdList()
    units = IdList()
    participants = IdList()
    development_areas = IdList()
    visibility = Visibility()


class ExperimentForm(RequestSchema):
    week = Whole(low=1, high=60, required=True)
    aim = Text(required=True)
    change = Text(required=True)
    prediction = Text(required=True)
    measure = Text(required=True)
    based_on = IdList()
    units = IdList()
    team = IdList()
    development_areas = IdList()
    visibility = Visibility()


class NextCycleForm(ExperimentForm):
    pass


class StartForm(VersionedSchema):
    # the course week defaults to the current one: starting asks for nothing else
    week = Whole(low=1, high=60, load_default=None)


class ShareForm(VersionedSchema):
    visibility = Choice(VISIBILITIES, required=True)


class TeamForm(VersionedSchema):
    member = Id(required=True)
    action = Choice(("add", "remove"), required=True)


class JoinForm(VersionedSchema):
    pass


class ObservationForm(VersionedSchema):
    text = Text(required=True)


class EvaluationForm(VersionedSchema):
    result = Text(required=True)
    learning = Text(required=True)


class ConclusionForm(VersionedSchema):
    outcome = Choice(("adopt", "adapt", "abandon"), required=True)


class CapabilityForm(RequestSchema):
    week = Whole(low=1, high=60, required=True)
    name = Line(required=True)
    description = Text(required=True)
    experiments = IdList()
    units = IdList()
    team = IdList()
    development_areas = IdList()
    visibility = Visibility()


class RefineForm(VersionedSchema):
    description = Text(required=True)


class MaterialForm(RequestSchema):
    """One material (a one-tap button) and/or several ticked at once."""

    material_id = Id(load_default=None)
    material_ids = IdList()


class AmendForm(VersionedSchema):
    example = Text(required=True)
    deficiency = Text(load_default="")
    solutions = Text(load_default="")
    development_areas = IdList()


class WithdrawForm(VersionedSchema):
    reason = Text(load_default="")


class ReviseForm(VersionedSchema):
    statement = Text(required=True)
    rationale = Text(load_default="")
    based_on = IdList()
    units = IdList()


class ReverseForm(VersionedSchema):
    reason = Text(required=True)


class ApplyForm(VersionedSchema):
    unit = Id(required=True)
    note = Text(required=True)


class ConsentForm(VersionedSchema):
    consent = Choice(("give", "withdraw"), required=True)


# ----------------------------------------------------------------------- researchers


class LoginForm(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    username = Line(required=True, limit=254)
    password = ma.fields.String(required=True, validate=ma.validate.Length(
        min=1, max=1024, error=_l("Fill in this field.")), error_messages=MESSAGES)
    next = ma.fields.String(load_default="")


class ProgrammeForm(RequestSchema):
    title = Line(required=True)
    organisation = Line(required=True)
    first_day = Day(required=True)
    themes = Text(required=True, limit=2000)
    units = Text(load_default="", limit=10_000)

    @ma.validates("first_day")
    def _monday(self, value: date, **kwargs: Any) -> None:
        if not date(2000, 1, 1) <= value <= date(2100, 1, 1):
            raise ma.ValidationError(_l("Enter a date from 2000 to 2100."))
        # The form plans Monday-to-Friday weeks from this day. Only here: the domain plans
        # any weeks it is given (the API's explicit weeks, ``framdrift demo --first-day``).
        if value.weekday() != 0:
            raise ma.ValidationError(
                _l("Choose a Monday: each course week runs Monday to Friday."))


class MaterialPublishForm(RequestSchema):
    week = Whole(low=1, high=60, required=True)
    kind = Choice(("film", "podcast", "report", "other"), required=True)
    title = Line(required=True)
    url = Line(load_default="", limit=2000)

    @ma.validates("url")
    def _url(self, value: str, **kwargs: Any) -> None:
        if value and not re.match(r"^https?://[^\s<>\"]+$", value):
            raise ma.ValidationError(_l("Enter a web address starting with https://"))


class MeetingForm(RequestSchema):
    week = Whole(low=1, high=60, required=True)
    kind = Choice(("check_in", "session"), required=True)
    held_on = Day(required=True)


class UnitForm(RequestSchema):
    key = ma.fields.String(required=True, validate=ma.validate.Regexp(
        r"^[a-z0-9][a-z0-9_-]{0,39}$",
        error=_l("Use lower-case letters, digits, - and _ (at most 40).")),
        error_messages=MESSAGES)
    name = Line(required=True)
    kind = Choice(("administration", "company"), required=True)


class AreaForm(RequestSchema):
    name = Line(required=True)
    description = Text(load_default="")


class RenameAreaForm(VersionedSchema):
    name = Line(required=True)


class MergeAreasForm(VersionedSchema):
    area_id = Id(required=True)
    into = Id(required=True)

    @ma.validates_schema
    def _different(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("area_id") and data.get("area_id") == data.get("into"):
            raise ma.ValidationError(_l("Pick two different development areas."), "into")


class CloseForm(VersionedSchema):
    confirm = Choice(("yes",), required=True,
                     error_messages={**MESSAGES, "required": _l("Tick the box to confirm.")})


class EraseForm(RequestSchema):
    pseudonym = Line(required=True, limit=40)


class EnrolForm(RequestSchema):
    name = Line(required=True)
    email = Line(load_default="", limit=254)
    role = Choice(("manager", "expert"), required=True)
    unit = Id(required=True)
    days = Whole(low=1, high=MAX_LINK_DAYS, load_default=None)  # None: the course's length

    @ma.validates("email")
    def _email(self, value: str, **kwargs: Any) -> None:
        if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ma.ValidationError(_l("Enter an e-mail address."))


class LinkForm(RequestSchema):
    days = Whole(low=1, high=MAX_LINK_DAYS, load_default=None)  # None: the default's length


class AttendanceForm(RequestSchema):
    attended = IdList()


class MaturityForm(RequestSchema):
    phase = Choice(("before", "after"), required=True)
    instrument = Line(required=True)
    assessed_on = Day(required=True)
    unit = Id(load_default=None)


# ------------------------------------------------------------------------- loading


def load(schema: ma.Schema, form: MultiDict[str, str],
         extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate a posted form: ``(data, {field: [message, ...]})``."""
    raw: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if isinstance(field, ma.fields.List):
            values = [v for v in form.getlist(key) if v != ""]
            raw[key] = values
        elif key in form:
            value = form.get(key)
            if value == "" and not field.required and not isinstance(field, Text):
                continue
            raw[key] = value
    raw.update(extra or {})
    try:
        return schema.load(raw), {}
    except ma.ValidationError as e:
        return {}, flatten(e.messages)


def flatten(messages: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(value, dict):  # list fields report per index
                for inner in value.values():
                    out.setdefault(str(key), []).extend(str(m) for m in _as_list(inner))
            else:
                out.setdefault(str(key), []).extend(str(m) for m in _as_list(value))
    else:
        out["_form"] = [str(m) for m in _as_list(messages)]
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# -------------------------------------------------------------------- domain errors


def domain_message(error: domain_errors.DomainError) -> str:
    """A translated message for a domain error (its English text when none fits)."""
    e = error
    if isinstance(e, domain_errors.ConcurrentChangeError):
        return _("Someone else changed this record after you opened it; nothing was "
                 "overwritten. What you typed is kept below: reload the page to see the "
                 "new version, then send again.")
    if isinstance(e, domain_errors.UnknownWeekError):
        return _("That week is not in the programme.")
    if isinstance(e, domain_errors.DateOutsideWeekError):
        from api.web.setup import format_day

        return _("Pick a date in week %(week)s, from %(first)s to %(last)s.", week=e.week,
                 first=format_day(e.first), last=format_day(e.last))
    if isinstance(e, domain_errors.DuplicateUnitError):
        if e.field == "units":  # the plan's list of units
            return _("%(unit)s is in the list more than once: list each unit once.", unit=e.value)
        if e.what == "key":
            return _("A unit has that key already: choose another.")
        return _("A unit has that name already.")
    if isinstance(e, domain_errors.AssessedBeforeProgrammeError):
        from api.web.setup import format_day

        return _("An assessment after the programme cannot be dated before its first day, "
                 "%(day)s.", day=format_day(e.first_day))
    if isinstance(e, domain_errors.UnknownMaterialError):
        return _("That material is not in the programme.")
    if isinstance(e, domain_errors.UnknownMeetingError):
        return _("That meeting is not in the programme.")
    if isinstance(e, domain_errors.UnknownDevelopmentAreaError):
        return _("Pick development areas of this programme.")
    if isinstance(e, domain_errors.UnknownUnitError):
        return _("That unit is not part of the programme's organisation.")
    if isinstance(e, domain_errors.LineageCycleError):
        return _("These links would make the record build on itself.")
    if isinstance(e, domain_errors.BasedOnError):
        if "adopt" in e.message:
            return _("A capability can only come from experiments concluded with "
                     "\"adopt\".")
        if "at least one" in e.message:
            return _("Pick at least one experiment.")
        if "not shared" in e.message or "you may build on" in e.message:
            return _("Pick your own records or records shared with the course group.")
        return _("Pick records of your programme that can be built on.")
    if isinstance(e, domain_errors.LifecycleError):
        return _("This step does not fit the experiment's stage (planned, started, "
                 "evaluated, concluded).")
    if isinstance(e, domain_errors.ProgrammeClosedError):
        return _("The programme is closed.")
    if isinstance(e, domain_errors.ScoreOutOfScaleError):
        from api.web.labels import dimension_name
        from api.web.setup import format_number

        return _("%(dimension)s: enter a number from %(low)s to %(high)s.",
                 dimension=dimension_name(e.dimension), low=format_number(e.low),
                 high=format_number(e.high))
    if isinstance(e, domain_errors.InstrumentChangeError):
        if "removed" in e.message:
            return _("A dimension that has been assessed cannot be removed.")
        return _("The scale of a dimension that has been assessed cannot change.")
    if type(e).__name__ == "NotTeamMemberError":
        return _("Only the author or a member of the team may take this forward.")
    if type(e).__name__ == "NotSharedError":
        return _("Only an experiment shared with the course group can be joined.")
    if isinstance(e, domain_errors.NotAuthorError):
        return _("Only the participant who wrote this record may change it.")
    if isinstance(e, domain_errors.ParticipantErasedError):
        return _("This participant has been erased.")
    if isinstance(e, (domain_errors.RecordWithdrawnError, domain_errors.DecisionReversedError)):
        return _("The record has been withdrawn or reversed.")
    if e.message == "cannot merge an area into itself":
        return _("Pick two different development areas.")
    if e.message == "that area is already merged":
        return _("That development area is already merged into another.")
    if e.message == "a development area has that name":
        return _("A development area has that name.")
    if isinstance(e, domain_errors.ControlCharacterError):
        return str(ONE_LINE_MESSAGE) if "one line" in e.message else _(
            "Contains characters that cannot be stored.")
    if e.message == "must not be empty":
        return str(MESSAGES["required"])
    if m := re.fullmatch(r"must be at most (\d+) characters", e.message):
        return _("At most %(limit)s characters.", limit=m.group(1))
    if e.message == "is not an e-mail address":
        return _("Enter an e-mail address.")
    if e.message == "that user name is taken":
        return _("That user name is taken.")
    return e.message


def domain_errors_for(error: domain_errors.DomainError, fields: Any,
                      aliases: dict[str, str] | None = None) -> dict[str, list[str]]:
    """``{field: [message]}`` for a domain error, at its field when the form has one."""
    field = (aliases or {}).get(error.field or "", error.field)
    if field not in fields:
        field = "_form"
    return {field: [domain_message(error)]}
