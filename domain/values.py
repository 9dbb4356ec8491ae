"""Enumerations and value objects, with the transcodings that store them as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding


class Role(Enum):
    """A participant's role in their organisation (chef / expert)."""

    MANAGER = "manager"
    EXPERT = "expert"


class UnitKind(Enum):
    ADMINISTRATION = "administration"  # förvaltning
    COMPANY = "company"  # kommunalt bolag


class MaterialKind(Enum):
    FILM = "film"
    PODCAST = "podcast"
    REPORT = "report"
    OTHER = "other"


class MeetingKind(Enum):
    CHECK_IN = "check_in"  # avstämning
    SESSION = "session"  # träff


class Stage(Enum):
    """An experiment's stage; it only moves forward."""

    PLANNED = "planned"
    STARTED = "started"
    EVALUATED = "evaluated"
    CONCLUDED = "concluded"

    @property
    def rank(self) -> int:
        return list(Stage).index(self)


class Outcome(Enum):
    ADOPT = "adopt"
    ADAPT = "adapt"
    ABANDON = "abandon"


class Phase(Enum):
    """When a maturity assessment was made relative to the programme."""

    BEFORE = "before"
    AFTER = "after"


class RecordKind(Enum):
    REFLECTION = "reflection"
    DECISION = "decision"
    EXPERIMENT = "experiment"
    CAPABILITY = "capability"


DEFAULT_THEMES: tuple[tuple[str, str, str], ...] = (
    ("digitalisation", "Digitalisering", "Digitalisation"),
    ("governance", "Styrning", "Governance"),
    ("organising", "Organisering", "Organising"),
    ("strategy", "Strategi", "Strategy"),
    ("summary", "Sammanfattning", "Summary"),
)
THEME_NAMES: dict[str, dict[str, str]] = {
    key: {"sv": sv, "en": en} for key, sv, en in DEFAULT_THEMES
}


@dataclass(frozen=True)
class Week:
    """A course week: its number, theme and the days it spans."""

    number: int
    theme: str
    starts_on: date
    ends_on: date

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    @classmethod
    def default_weeks(cls, first_day: date, themes: list[str] | None = None) -> list[Week]:
        """Five weeks (or one per theme), Monday to Friday, a week apart."""
        keys = themes or [key for key, _, _ in DEFAULT_THEMES]
        return [
            cls(
                number=i + 1,
                theme=key,
                starts_on=first_day + timedelta(days=7 * i),
                ends_on=first_day + timedelta(days=7 * i + 4),
            )
            for i, key in enumerate(keys)
        ]


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class WeekAsDict(Transcoding):
    type = Week
    name = "week"

    def encode(self, obj: Week) -> dict[str, Any]:
        return {
            "number": obj.number,
            "theme": obj.theme,
            "starts_on": obj.starts_on,
            "ends_on": obj.ends_on,
        }

    def decode(self, data: dict[str, Any]) -> Week:
        return Week(**data)


def _enum_transcoding(enum_cls: type[Enum]) -> type[Transcoding]:
    class EnumAsValue(Transcoding):
        type = enum_cls
        name = f"enum_{enum_cls.__name__.lower()}"

        def encode(self, obj: Enum) -> str:
            return obj.value

        def decode(self, data: str) -> Enum:
            return enum_cls(data)

    EnumAsValue.__name__ = f"{enum_cls.__name__}AsValue"
    return EnumAsValue


ENUMS: tuple[type[Enum], ...] = (
    Role, UnitKind, MaterialKind, MeetingKind, Stage, Outcome, Phase, RecordKind
)


def register_value_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    transcoder.register(WeekAsDict())
    transcoder.register(DimensionAsDict())
    for enum_cls in ENUMS:
        transcoder.register(_enum_transcoding(enum_cls)())


# ------------------------------------------------------------ the maturity instrument


@dataclass(frozen=True)
class Dimension:
    """One dimension of a programme's maturity instrument: a stable key (what assessments
    are stored under, so a renamed dimension keeps its scores), its names in Swedish and
    English, an optional category grouping dimensions, and its scale."""

    key: str
    name_sv: str
    name_en: str
    category: str | None = None
    scale_min: float = 0.0
    scale_max: float = 100.0

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_sv

    def fits(self, score: float) -> bool:
        return self.scale_min <= score <= self.scale_max

    @property
    def scale(self) -> str:
        """The range as people write it: ``0–100``."""
        return f"{self.scale_min:g}–{self.scale_max:g}"

    @classmethod
    def named_by_key(cls, key: str) -> Dimension:
        """A dimension known only by its key (an older programme's own keys): the default
        dimension of that key, else the key as its name, scored 0–100."""
        for d in DEFAULT_INSTRUMENT:
            if d.key == key:
                return d
        return cls(key=key, name_sv=key, name_en=key)


# The public sector's maturity model measures two dimensions, scored 0–100.
DEFAULT_INSTRUMENT: tuple[Dimension, ...] = (
    Dimension("digital_capability", "Digital förmåga", "Digital capability"),
    Dimension("digital_legacy", "Digitalt arv", "Digital legacy"),
)


class DimensionAsDict(Transcoding):
    type = Dimension
    name = "maturity_dimension"

    def encode(self, obj: Dimension) -> dict[str, Any]:
        return {"key": obj.key, "name_sv": obj.name_sv, "name_en": obj.name_en,
                "category": obj.category, "scale_min": obj.scale_min,
                "scale_max": obj.scale_max}

    def decode(self, data: dict[str, Any]) -> Dimension:
        return Dimension(**data)
