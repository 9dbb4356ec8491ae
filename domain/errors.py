"""Named domain errors.

Each carries a ``field`` (where the problem is, for forms and the API) and a
message meant for people. The API maps them to 404 / 409 / 422.
"""

from __future__ import annotations

from datetime import date


class DomainError(Exception):
    """A rule of the domain was broken; nothing was recorded."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


class InvalidValueError(DomainError):
    """A value is empty, too long or out of range."""


class ControlCharacterError(InvalidValueError):
    """A one-line field (a title, a name, a theme ...) holds a line break or another control
    character, or a text holds a control character other than a line break or a tab: it
    would forge lines in ``framdrift log`` and in exports, or break a terminal."""


class DateOutsideWeekError(InvalidValueError):
    """A meeting dated outside the course week it is held in (Monday to Sunday of the week's
    days)."""

    field = "held_on"

    def __init__(self, message: str, *, week: int, first: date, last: date):
        super().__init__(message)
        self.week, self.first, self.last = week, first, last


class DuplicateUnitError(InvalidValueError):
    """A unit whose key, or whose name (trimmed, in any case), the programme already has
    (``what`` says which, ``value`` is the key or name given)."""

    def __init__(self, message: str, *, field: str, what: str, value: str):
        super().__init__(message, field=field)
        self.what, self.value = what, value


class AssessedBeforeProgrammeError(InvalidValueError):
    """A maturity assessment "after" the programme dated before the programme's first day."""

    field = "assessed_on"

    def __init__(self, message: str, *, first_day: date):
        super().__init__(message)
        self.first_day = first_day


class NotFoundError(DomainError):
    """The record asked for does not exist."""


class ProgrammeNotFoundError(NotFoundError):
    field = "programme_id"


class ParticipantNotFoundError(NotFoundError):
    field = "participant_id"


class RecordNotFoundError(NotFoundError):
    field = "record_id"


class UnknownWeekError(DomainError):
    field = "week"


class UnknownMaterialError(DomainError):
    field = "material_id"


class UnknownMeetingError(DomainError):
    field = "meeting_id"


class UnknownDevelopmentAreaError(DomainError):
    field = "development_areas"


class UnknownUnitError(DomainError):
    field = "units"


class ProgrammeClosedError(DomainError):
    field = "programme_id"


class NotEnrolledError(DomainError):
    """A participant acted in a programme they are not enrolled in."""

    field = "participant_id"


class ParticipantErasedError(DomainError):
    field = "participant_id"


class NotAuthorError(DomainError):
    """Only the participant who wrote a record may change it."""

    field = "participant_id"


class NotTeamMemberError(NotAuthorError):
    """Only the author of a joint experiment or capability, or a member of its team, may
    take it forward (record its steps, plan its next cycle, refine or apply it)."""


class NotSharedError(NotAuthorError):
    """A colleague's record that is not shared with the course group cannot be joined."""

    field = "record_id"


class RecordWithdrawnError(DomainError):
    """A withdrawn reflection cannot be amended or built upon."""


class DecisionReversedError(DomainError):
    pass


class BasedOnError(DomainError):
    """A "based on" link points to something it must not."""

    field = "based_on"


class LineageCycleError(BasedOnError):
    """A "based on" link would make the lineage graph cyclic."""


class LifecycleError(DomainError):
    """An experiment step out of order (the lifecycle only moves forward)."""

    field = "stage"


class ConcurrentChangeError(DomainError):
    """Someone else changed the record since it was read; nothing was overwritten."""

    field = "version"


class InstrumentChangeError(DomainError):
    """A change to a programme's maturity instrument would change what recorded assessments
    mean (a scale changed or a dimension removed after it was scored): refused, so a
    score always reads on the scale it was given on. Renaming keeps the key and is fine."""

    field = "dimensions"


class ScoreOutOfScaleError(InvalidValueError):
    """A maturity score outside its dimension's scale (or not a number)."""

    field = "scores"

    def __init__(self, message: str, *, dimension: str, low: float, high: float):
        super().__init__(message)
        self.dimension, self.low, self.high = dimension, low, high
