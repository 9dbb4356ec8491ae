"""Programme rules: planning validation, weeks, materials, meetings, areas, maturity, closing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain import errors
from domain.model import Participant, Programme
from domain.values import MaterialKind, MeetingKind, Phase, Role, Week

FIRST_DAY = date(2026, 9, 7)
UNITS = [
    {"key": "soc", "name": "Social services", "kind": "administration"},
    {"key": "it", "name": "IT office", "kind": "administration"},
    {"key": "bo", "name": "Housing company", "kind": "company"},
]


def names(events) -> list[str]:
    return [type(e).__qualname__ for e in events]


def plan(**overrides) -> Programme:
    kwargs = dict(
        organisation="Exempelby kommun", title="Digitalisering 2026",
        weeks=Week.default_weeks(FIRST_DAY), units=UNITS,
    )
    kwargs.update(overrides)
    return Programme.plan(**kwargs)


def week(number: int, start: date, days: int = 4, theme: str = "governance") -> Week:
    return Week(number=number, theme=theme, starts_on=start, ends_on=start + timedelta(days=days))


# planning ----------------------------------------------------------------------


def test_plan_records_one_planned_event_with_five_themed_weeks():
    p = plan()
    events = p.collect_events()
    assert names(events) == ["Programme.Planned"]
    assert [w.number for w in p.weeks] == [1, 2, 3, 4, 5]
    assert [w.theme for w in p.weeks] == [
        "digitalisation", "governance", "organising", "strategy", "summary"
    ]
    assert p.weeks[1].starts_on == FIRST_DAY + timedelta(days=7)
    assert set(p.units) == {"soc", "it", "bo"}
    assert p.maturity_dimensions == ["digital_capability", "digital_legacy"]
    assert p.closed is False
    assert events[0].weeks == p.weeks


@pytest.mark.parametrize(
    "weeks, message",
    [
        ([], "at least one week"),
        ([week(2, FIRST_DAY)], "numbered 1..n"),
        ([week(1, FIRST_DAY), week(3, FIRST_DAY + timedelta(days=7))], "numbered 1..n"),
        ([week(2, FIRST_DAY + timedelta(days=7)), week(1, FIRST_DAY)], "numbered 1..n"),
        ([week(1, FIRST_DAY), week(1, FIRST_DAY + timedelta(days=7))], "numbered 1..n"),
        ([week(1, FIRST_DAY, days=-1)], "ends before it starts"),
        ([week(1, FIRST_DAY), week(2, FIRST_DAY + timedelta(days=3))], "starts before week 1"),
        ([week(1, FIRST_DAY), week(2, FIRST_DAY)], "starts before week 1"),
        ([week(1, FIRST_DAY, theme="  ")], "must not be empty"),
    ],
)
def test_plan_rejects_badly_numbered_or_ordered_weeks(weeks, message):
    with pytest.raises(errors.InvalidValueError, match=message) as e:
        plan(weeks=weeks)
    assert e.value.field == "weeks"


def test_plan_accepts_adjacent_weeks_of_any_length():
    p = plan(weeks=[week(1, FIRST_DAY, days=0), week(2, FIRST_DAY + timedelta(days=1), days=10)])
    assert [w.number for w in p.weeks] == [1, 2]


def test_plan_rejects_duplicate_unit_keys():
    units = [*UNITS, {"key": "soc", "name": "Social services again"}]
    with pytest.raises(errors.InvalidValueError, match="unique") as e:
        plan(units=units)
    assert e.value.field == "units"


@pytest.mark.parametrize(
    "unit",
    [{"key": "x", "name": "X", "kind": "ministry"}, {"key": "", "name": "X"}, {"key": "x"}],
)
def test_plan_rejects_bad_units(unit):
    with pytest.raises(errors.InvalidValueError) as e:
        plan(units=[unit])
    assert e.value.field == "units"


@pytest.mark.parametrize("field_name", ["organisation", "title"])
@pytest.mark.parametrize("value", ["", "   ", "x" * 201])
def test_plan_requires_short_non_empty_names(field_name, value):
    with pytest.raises(errors.InvalidValueError) as e:
        plan(**{field_name: value})
    assert e.value.field == field_name


def test_plan_strips_names_and_keeps_custom_dimensions():
    p = plan(organisation="  Exempelby  ", maturity_dimensions=["data", "people"])
    assert p.organisation == "Exempelby"
    assert p.maturity_dimensions == ["data", "people"]


def test_register_unit_and_duplicate(programme):
    programme.register_unit("hr", "HR", "administration")
    assert names(programme.collect_events()) == ["Programme.UnitRegistered"]
    assert programme.units["hr"]["name"] == "HR"
    with pytest.raises(errors.DuplicateUnitError) as e:
        programme.register_unit("hr", "HR again", "administration")
    assert (e.value.field, e.value.what, e.value.value) == ("key", "key", "hr")
    assert programme.collect_events() == []


@pytest.mark.parametrize("name", ["IT office", "  it OFFICE ", "Hr"])
def test_a_unit_name_the_programme_has_is_refused_in_any_case(programme, name):
    programme.register_unit("hr", "HR", "administration")
    programme.collect_events()
    with pytest.raises(errors.DuplicateUnitError) as e:
        programme.register_unit("other-key", name, "company")
    assert isinstance(e.value, errors.InvalidValueError)
    assert (e.value.field, e.value.what, e.value.value) == ("name", "name", name.strip())
    assert programme.collect_events() == [] and "other-key" not in programme.units


def test_plan_rejects_duplicate_unit_names():
    units = [*UNITS, {"key": "soc2", "name": " social SERVICES"}]
    with pytest.raises(errors.DuplicateUnitError, match="unique") as e:
        plan(units=units)
    assert (e.value.field, e.value.what, e.value.value) == ("units", "name", "social SERVICES")


# weeks ------------------------------------------------------------------------


@pytest.mark.parametrize("number", [0, 6, -1, 99, "2", 2.0, True, None])
def test_unknown_week_is_refused(programme, number):
    with pytest.raises(errors.UnknownWeekError) as e:
        programme.week(number)
    assert e.value.field == "week"
    with pytest.raises(errors.UnknownWeekError):
        programme.publish_material(week=number, kind=MaterialKind.FILM, title="Film")
    with pytest.raises(errors.UnknownWeekError):
        programme.hold_meeting(kind=MeetingKind.SESSION, week=number, held_on=FIRST_DAY)
    assert programme.collect_events() == []


def test_week_lookup_and_current_week(programme):
    assert programme.week(3).theme == "organising"
    assert programme.current_week(FIRST_DAY - timedelta(days=3)) == 1
    assert programme.current_week(FIRST_DAY + timedelta(days=8)) == 2
    assert programme.current_week(FIRST_DAY + timedelta(days=7 * 4)) == 5
    assert programme.current_week(FIRST_DAY + timedelta(days=100)) == 5


# materials and meetings ----------------------------------------------------------


def test_material_is_published_for_a_week_and_guarded(programme):
    m1 = programme.publish_material(week=2, kind=MaterialKind.PODCAST, title=" Styrning ")
    m2 = programme.publish_material(week=2, kind=MaterialKind.REPORT, title="Rapport", url="u")
    events = programme.collect_events()
    assert (m1, m2) == ("m1", "m2")
    assert names(events) == ["Programme.MaterialPublished"] * 2
    assert events[0].material_id == "m1" and events[0].kind is MaterialKind.PODCAST
    assert programme.require_material("m1")["title"] == "Styrning"
    assert programme.require_material("m2")["week"] == 2
    with pytest.raises(errors.UnknownMaterialError) as e:
        programme.require_material("m3")
    assert e.value.field == "material_id"


@pytest.mark.parametrize("title, url", [("", None), ("x" * 201, None), ("ok", "u" * 2001)])
def test_material_with_bad_title_or_url_is_refused(programme, title, url):
    with pytest.raises(errors.InvalidValueError):
        programme.publish_material(week=1, kind=MaterialKind.FILM, title=title, url=url)
    assert programme.collect_events() == []
    assert programme.materials == {}


def test_check_in_and_session_are_held_and_guarded(programme):
    c = programme.hold_meeting(kind=MeetingKind.CHECK_IN, week=1, held_on=FIRST_DAY)
    s = programme.hold_meeting(kind=MeetingKind.SESSION, week=1, held_on=FIRST_DAY)
    assert names(programme.collect_events()) == ["Programme.CheckInHeld", "Programme.SessionHeld"]
    assert (c, s) == ("c1", "s2")
    assert programme.require_meeting("c1")["kind"] is MeetingKind.CHECK_IN
    assert programme.require_meeting("s2")["kind"] is MeetingKind.SESSION
    with pytest.raises(errors.UnknownMeetingError):
        programme.require_meeting("s3")


def test_a_meeting_is_held_in_its_own_week_monday_to_sunday(programme):
    """Week 1 runs Monday 7 to Friday 11 September: a meeting of week 1 may be held from
    that Monday to the Sunday, not before, not after and not in another week."""
    for day in (FIRST_DAY, FIRST_DAY + timedelta(days=4), FIRST_DAY + timedelta(days=6)):
        programme.hold_meeting(kind=MeetingKind.CHECK_IN, week=1, held_on=day)
    assert len(programme.collect_events()) == 3
    for week, day in ((1, FIRST_DAY - timedelta(days=1)), (1, FIRST_DAY + timedelta(days=7)),
                      (1, FIRST_DAY + timedelta(days=10)), (2, FIRST_DAY + timedelta(days=4)),
                      (5, date(2027, 2, 17))):
        with pytest.raises(errors.DateOutsideWeekError) as e:
            programme.hold_meeting(kind=MeetingKind.SESSION, week=week, held_on=day)
        assert isinstance(e.value, errors.InvalidValueError)
        assert e.value.field == "held_on" and e.value.week == week
        start = FIRST_DAY + timedelta(days=7 * (week - 1))
        assert (e.value.first, e.value.last) == (start, start + timedelta(days=6))
    for not_a_date in ("2026-09-08", None, datetime(2026, 9, 8, 12)):
        with pytest.raises(errors.InvalidValueError) as e:
            programme.hold_meeting(kind=MeetingKind.SESSION, week=1, held_on=not_a_date)
        assert e.value.field == "held_on"
    assert programme.collect_events() == []
    assert len(programme.meetings) == 3


# development areas ---------------------------------------------------------------


def test_development_areas_identified_renamed_and_merged(programme):
    a1 = programme.identify_development_area(name="Definition and goals")
    a2 = programme.identify_development_area(name="Political anchoring", description=" why ")
    programme.rename_development_area(a1, "Definitions and goals")
    programme.merge_development_areas(a2, a1)
    assert names(programme.collect_events()) == [
        "Programme.DevelopmentAreaIdentified",
        "Programme.DevelopmentAreaIdentified",
        "Programme.DevelopmentAreaRenamed",
        "Programme.DevelopmentAreasMerged",
    ]
    assert (a1, a2) == ("a1", "a2")
    assert programme.development_areas[a1]["name"] == "Definitions and goals"
    assert programme.development_areas[a2]["description"] == "why"
    assert programme.development_areas[a2]["merged_into"] == a1
    assert programme.resolve_area(a2) == a1
    assert programme.resolve_area(a1) == a1


def test_development_area_guards(programme):
    a1 = programme.identify_development_area(name="HR's role")
    with pytest.raises(errors.InvalidValueError, match="has that name"):
        programme.identify_development_area(name="hr'S ROLE")
    with pytest.raises(errors.UnknownDevelopmentAreaError):
        programme.rename_development_area("a9", "Nothing")
    with pytest.raises(errors.UnknownDevelopmentAreaError):
        programme.merge_development_areas(a1, "a9")
    with pytest.raises(errors.UnknownDevelopmentAreaError):
        programme.resolve_area("a9")
    with pytest.raises(errors.UnknownDevelopmentAreaError):
        programme.require_areas([a1, "a9"])
    with pytest.raises(errors.InvalidValueError, match="into itself"):
        programme.merge_development_areas(a1, a1)
    with pytest.raises(errors.InvalidValueError):
        programme.rename_development_area(a1, " ")
    assert names(programme.collect_events()) == ["Programme.DevelopmentAreaIdentified"]
    assert programme.require_areas([a1, a1]) == [a1]


def test_merge_follows_earlier_merges_and_refuses_merging_twice(programme):
    a1 = programme.identify_development_area(name="One")
    a2 = programme.identify_development_area(name="Two")
    a3 = programme.identify_development_area(name="Three")
    a4 = programme.identify_development_area(name="Four")
    programme.merge_development_areas(a2, a1)
    programme.merge_development_areas(a3, a2)  # a2 lives on as a1
    assert programme.development_areas[a3]["merged_into"] == a1
    with pytest.raises(errors.InvalidValueError, match="already merged"):
        programme.merge_development_areas(a2, a4)
    with pytest.raises(errors.InvalidValueError, match="into itself"):
        programme.merge_development_areas(a1, a3)
    assert programme.development_areas[a2]["merged_into"] == a1
    # a merged area's name is free again
    assert programme.identify_development_area(name="two") == "a5"


def test_recommendation_needs_known_areas(programme):
    a1 = programme.identify_development_area(name="Forums")
    with pytest.raises(errors.UnknownDevelopmentAreaError):
        programme.adopt_recommendation(text="Hold forums", development_areas=["a7"])
    with pytest.raises(errors.InvalidValueError):
        programme.adopt_recommendation(text="", development_areas=[a1])
    r = programme.adopt_recommendation(text="Hold forums", development_areas=[a1, a1])
    assert r == "r1"
    assert programme.recommendations == [
        {"recommendation_id": "r1", "text": "Hold forums", "development_areas": [a1]}
    ]


# maturity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scores",
    [
        {},
        {"digital_capability": 101},
        {"digital_capability": -0.5},
        {"digital_capability": True},
        {"digital_capability": "50"},
        {"digital_capability": None},
        {"digital_legacy": 10, "unknown_dimension": 10},
    ],
)
def test_maturity_scores_are_validated(programme, scores):
    with pytest.raises(errors.InvalidValueError) as e:
        programme.assess_maturity(
            phase=Phase.BEFORE, instrument="DiMiOS", assessed_on=FIRST_DAY, scores=scores
        )
    assert e.value.field == "scores"
    assert programme.assessments == []
    assert programme.collect_events() == []


def test_maturity_assessed_with_bounds_and_unit(programme):
    a = programme.assess_maturity(
        phase=Phase.BEFORE, instrument="DiMiOS", assessed_on=FIRST_DAY,
        scores={"digital_capability": 0, "digital_legacy": 100}, unit="it",
    )
    events = programme.collect_events()
    assert a == "ma1" and names(events) == ["Programme.MaturityAssessed"]
    assert events[0].scores == {"digital_capability": 0.0, "digital_legacy": 100.0}
    assert programme.assessments[0]["phase"] is Phase.BEFORE
    assert programme.assessments[0]["unit"] == "it"
    with pytest.raises(errors.UnknownUnitError):
        programme.assess_maturity(
            phase=Phase.AFTER, instrument="DiMiOS", assessed_on=FIRST_DAY,
            scores={"digital_capability": 50}, unit="nowhere",
        )
    with pytest.raises(errors.InvalidValueError):
        programme.assess_maturity(
            phase=Phase.AFTER, instrument=" ", assessed_on=FIRST_DAY,
            scores={"digital_capability": 50},
        )


def test_an_after_assessment_is_not_dated_before_the_programme(programme):
    """"After" is dated from the programme's first day on (that day too, and after
    closing); "before" may be dated any day."""
    for phase, day in ((Phase.AFTER, FIRST_DAY), (Phase.AFTER, date(2027, 3, 1)),
                       (Phase.BEFORE, date(2026, 1, 1))):
        programme.assess_maturity(phase=phase, instrument="DiMiOS", assessed_on=day,
                                  scores={"digital_capability": 50})
    assert len(programme.collect_events()) == 3
    for day in (FIRST_DAY - timedelta(days=1), date(2026, 1, 1)):
        with pytest.raises(errors.AssessedBeforeProgrammeError) as e:
            programme.assess_maturity(phase=Phase.AFTER, instrument="DiMiOS",
                                      assessed_on=day, scores={"digital_capability": 50})
        assert isinstance(e.value, errors.InvalidValueError)
        assert (e.value.field, e.value.first_day) == ("assessed_on", FIRST_DAY)
    with pytest.raises(errors.InvalidValueError) as e:
        programme.assess_maturity(phase=Phase.BEFORE, instrument="DiMiOS",
                                  assessed_on="2026-09-01", scores={"digital_capability": 50})
    assert e.value.field == "assessed_on"
    assert programme.collect_events() == [] and len(programme.assessments) == 3


# closing ----------------------------------------------------------------------------


CLOSED_COMMANDS = {
    "publish_material": lambda p: p.publish_material(
        week=1, kind=MaterialKind.FILM, title="Film"),
    "hold_meeting": lambda p: p.hold_meeting(
        kind=MeetingKind.CHECK_IN, week=1, held_on=FIRST_DAY),
    "identify_area": lambda p: p.identify_development_area(name="New"),
    "rename_area": lambda p: p.rename_development_area("a1", "Renamed"),
    "merge_areas": lambda p: p.merge_development_areas("a2", "a1"),
    "recommend": lambda p: p.adopt_recommendation(text="Do it", development_areas=["a1"]),
    # assess_maturity is deliberately absent: an "after" assessment may follow closing.
    "register_unit": lambda p: p.register_unit("hr", "HR", "administration"),
    "close_again": lambda p: p.close(),
    "enrol": lambda p: Participant.enrol(
        p, name="Late Comer", email=None, role=Role.EXPERT, unit="soc"),
}


@pytest.mark.parametrize("command", CLOSED_COMMANDS.values(), ids=CLOSED_COMMANDS.keys())
def test_closed_programme_refuses_every_command(programme, command):
    programme.identify_development_area(name="One")
    programme.identify_development_area(name="Two")
    programme.close()
    assert names(programme.collect_events())[-1] == "Programme.Closed"
    assert programme.closed is True
    with pytest.raises(errors.ProgrammeClosedError):
        command(programme)
    assert programme.collect_events() == []
