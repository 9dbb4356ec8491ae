"""Every event says who acted and when; request ids are remembered; names are past tense."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from eventsourcing.domain import DomainEvent

from domain import describe
from domain.context import SYSTEM_ACTOR, acting_as, clock, request
from domain.model import (
    Capability,
    Decision,
    Experiment,
    Participant,
    Programme,
    Reflection,
    record_id_for,
)
from domain.values import (
    DEFAULT_INSTRUMENT,
    Dimension,
    MaterialKind,
    MeetingKind,
    Outcome,
    Phase,
    Role,
    Week,
)

FIRST_DAY = date(2026, 9, 7)
UNITS = [{"key": "soc", "name": "Social services"}, {"key": "it", "name": "IT"}]
AGGREGATES = (Programme, Participant, Reflection, Decision, Experiment, Capability)


def everything(tick):
    """Run one of every command, advancing the clock; return all events in order."""
    events = []
    p = Programme.plan(organisation="Org", title="T", weeks=Week.default_weeks(FIRST_DAY),
                       units=UNITS)
    p.register_unit("hr", "HR", "administration")
    p.publish_material(week=1, kind=MaterialKind.FILM, title="Film")
    p.hold_meeting(kind=MeetingKind.CHECK_IN, week=1, held_on=FIRST_DAY)
    p.hold_meeting(kind=MeetingKind.SESSION, week=1, held_on=FIRST_DAY)
    a1 = p.identify_development_area(name="A")
    a2 = p.identify_development_area(name="B")
    p.rename_development_area(a1, "AA")
    p.merge_development_areas(a2, a1)
    p.adopt_recommendation(text="Do", development_areas=[a1])
    p.define_maturity_instrument([*DEFAULT_INSTRUMENT, Dimension("data", "Data", "Data")])
    p.assess_maturity(phase=Phase.BEFORE, instrument="DiMiOS", assessed_on=FIRST_DAY,
                      scores={"digital_capability": 40})
    p.note_cohort_enrolled(3)
    p.close()
    events += p.collect_events()
    p.closed = False  # reopen in memory only, to enrol below
    who = Participant.enrol(p, name="N", email=None, role=Role.EXPERT, unit="soc")
    who.give_consent()
    who.withdraw_consent()
    who.take_part_of("m1")
    who.record_attendance("c1", True)
    who.erase()
    events += who.collect_events()
    r = Reflection.log(programme_id=p.id, author=who, week=1, material_id=None, example="E",
                       deficiency=None, solutions=None, development_areas=[])
    r.amend(example="E2", deficiency=None, solutions=None, development_areas=[])
    r.share()
    r.unshare()
    r.withdraw()
    events += r.collect_events()
    d = Decision.make(programme_id=p.id, author=who, week=1, statement="S", rationale=None,
                      based_on=[], units=[], development_areas=[])
    d.revise(statement="S2", rationale=None, based_on=[], units=[])
    d.share()
    d.unshare()
    d.reverse("R")
    events += d.collect_events()
    e = Experiment.plan(programme_id=p.id, author=who, week=1, aim="A", change="C",
                        prediction="P", measure="M", based_on=[], units=[],
                        development_areas=[])
    colleague = Participant.enrol(p, name="M", email=None, role=Role.MANAGER, unit="it")
    events += colleague.collect_events()
    e.share()
    e.add_team_member(colleague.id)
    e.remove_team_member(colleague.id)
    e.join(colleague.id)
    e.unshare()
    e.start(1)
    e.record_observation("O")
    e.evaluate(result="R", learning="L")
    e.conclude(Outcome.ADOPT)
    e2 = Experiment.plan(programme_id=p.id, author=who, week=1, aim="A", change="C",
                         prediction="P", measure="M", based_on=[], units=[],
                         development_areas=[], previous=e)
    e.link_next_cycle(e2.id)
    events += e.collect_events() + e2.collect_events()
    c = Capability.establish(programme_id=p.id, author=who, week=1, name="N", description="D",
                             experiments=[e], units=[], development_areas=[])
    c.refine("D2")
    c.apply_in("it", "note")
    c.share()
    c.add_team_member(colleague.id)
    c.remove_team_member(colleague.id)
    c.join(colleague.id)
    c.unshare()
    events += c.collect_events()
    return events


def test_every_event_carries_actor_and_event_time_from_the_context():
    start = datetime(2026, 9, 8, 9, 0, tzinfo=UTC)
    ticks = iter(start + timedelta(minutes=i) for i in range(1000))
    with acting_as("researcher:r1"), clock(lambda: next(ticks)):
        events = everything(ticks)
    assert len(events) == 51
    assert {describe.event_type(e) for e in events} == set(_event_classes())
    assert {e.actor for e in events} == {"researcher:r1"}
    stamps = [e.timestamp for e in events]
    assert all(start <= t < start + timedelta(minutes=1000) for t in stamps)
    assert len(set(stamps)) == len(stamps)  # each event took its own tick
    assert all(e.request_id is None for e in events)


def test_without_context_the_actor_is_system_and_time_is_now():
    before = datetime.now(UTC)
    events = everything(None)
    after = datetime.now(UTC)
    assert {e.actor for e in events} == {SYSTEM_ACTOR}
    assert all(before <= e.timestamp <= after for e in events)


def test_actor_can_change_between_commands():
    with acting_as("researcher:r1"):
        p = Programme.plan(organisation="O", title="T", weeks=Week.default_weeks(FIRST_DAY),
                           units=UNITS)
    with acting_as("participant:x"):
        p.publish_material(week=1, kind=MaterialKind.FILM, title="F")
    assert [e.actor for e in p.collect_events()] == ["researcher:r1", "participant:x"]


def test_request_ids_are_remembered_by_the_aggregate():
    p = Programme.plan(organisation="O", title="T", weeks=Week.default_weeks(FIRST_DAY),
                       units=UNITS, request_id="plan-1")
    assert p.id == record_id_for("programme", "plan-1")
    with request("pub-1"):
        m = p.publish_material(week=2, kind=MaterialKind.REPORT, title="Rapport")
    with request("area-1"):
        a = p.identify_development_area(name="A")
    p.publish_material(week=2, kind=MaterialKind.FILM, title="No request")
    events = p.collect_events()
    assert [e.request_id for e in events] == [None, "pub-1", "area-1", None]
    assert p.has_handled("pub-1") and p.has_handled("area-1")
    assert not p.has_handled("pub-2") and not p.has_handled(None) and not p.has_handled("")
    assert p.result_of("pub-1") == m == "m1"
    assert p.result_of("area-1") == a == "a1"
    rebuilt = None
    for e in events:
        rebuilt = e.mutate(rebuilt)
    assert rebuilt.has_handled("pub-1") and rebuilt.result_of("area-1") == "a1"


def test_request_id_on_a_record_command():
    p = Programme.plan(organisation="O", title="T", weeks=Week.default_weeks(FIRST_DAY),
                       units=UNITS)
    who = Participant.enrol(p, name="N", email=None, role=Role.EXPERT, unit="soc")
    with request("log-1"):
        r = Reflection.log(programme_id=p.id, author=who, week=1, material_id=None,
                           example="E", deficiency=None, solutions=None,
                           development_areas=[], request_id="log-1")
    assert r.id == record_id_for("reflection", "log-1")
    assert r.id != record_id_for("decision", "log-1")
    with request("amend-1"):
        r.amend(example="E2", deficiency=None, solutions=None, development_areas=[])
    assert r.has_handled("log-1") and r.has_handled("amend-1")
    assert not r.has_handled("amend-2")
    assert r.result_of("amend-1") is None


def _event_classes():
    found = {}
    for agg in AGGREGATES:
        for name, value in vars(agg).items():
            if (isinstance(value, type) and issubclass(value, DomainEvent)
                    and name not in ("Event", "Created")):
                found[f"{agg.__name__}.{name}"] = value
    return found


def test_event_classes_are_exactly_those_described():
    source = inspect.getsource(describe._summarise)
    described = set(re.findall(r'"([A-Z]\w+\.[A-Z]\w+)"', source))
    assert set(_event_classes()) == described


IRREGULAR = {"Held", "Given", "Withdrawn", "Taken", "Made"}


@pytest.mark.parametrize("qualname", sorted(_event_classes()))
def test_event_class_names_are_past_tense(qualname):
    words = re.findall(r"[A-Z][a-z]*", qualname.split(".")[1])
    assert any(w.endswith("ed") or w in IRREGULAR for w in words), qualname
    assert describe.event_type(_event_classes()[qualname].__new__(
        _event_classes()[qualname])) == qualname


def test_every_event_type_has_a_name_on_the_pages():
    """The replay's latest events show a name, never a raw type such as Reflection.Unshared."""
    from api.web.labels import EVENT_TYPES

    assert set(_event_classes()) - set(EVENT_TYPES) == set()
