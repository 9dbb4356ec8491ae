"""The application service on both stores: the chain, guards across records, idempotency."""

from __future__ import annotations

from collections import Counter
from datetime import date
from uuid import UUID, uuid4

import pytest

from domain import errors
from domain.application import Framdrift

FIRST_DAY = date(2026, 9, 7)
UNITS = [
    {"key": "soc", "name": "Social services"},
    {"key": "it", "name": "IT office"},
    {"key": "bo", "name": "Housing company", "kind": "company"},
]


def event_names(app: Framdrift, originator: UUID | None = None) -> list[str]:
    return [
        type(e).__qualname__ for _, e in app.iter_log()
        if originator is None or e.originator_id == originator
    ]


def setup_programme(app: Framdrift, title: str = "Digitalisering 2026") -> dict:
    pid = app.plan_programme(organisation="Exempelby kommun", title=title,
                             first_day=FIRST_DAY, units=UNITS)
    m1 = app.publish_material(pid, week=2, kind="podcast", title="Styrning")
    area = app.identify_development_area(pid, name="Definition and goals")
    ada = app.enrol_participant(pid, name="Ada", email="ada@example.org", role="manager",
                                unit="soc", consent=True)
    bo = app.enrol_participant(pid, name="Bo", email=None, role="expert", unit="it")
    return {"pid": pid, "m1": m1, "area": area, "ada": ada, "bo": bo}


def log(app, who, pid=None, **kw) -> UUID:
    kw.setdefault("week", 2)
    kw.setdefault("example", "A rule read as forbidding a shared platform")
    return app.log_reflection(who, programme_id=pid, **kw)


def finished_experiment(app, who, based_on, outcome="adopt") -> UUID:
    e = app.plan_experiment(who, week=3, aim="Share data", change="Pilot", prediction="Faster",
                            measure="Lead time", based_on=based_on, units=["soc", "it"])
    app.start_experiment(e, week=3)
    app.record_observation(e, text="Lead time fell")
    app.evaluate_experiment(e, result="Held", learning="Ask IT early")
    app.conclude_experiment(e, outcome=outcome)
    return e


# the chain ---------------------------------------------------------------------------


def test_reflection_to_decision_to_experiment_to_capability(app):
    w = setup_programme(app)
    r = log(app, w["ada"], w["pid"], material_id=w["m1"], deficiency="Silos",
            solutions="Read it again", development_areas=[w["area"]])
    d = app.make_decision(w["ada"], programme_id=w["pid"], week=3,
                          statement="Choose the other reading", based_on=[r],
                          units=["soc", "it"], shared=True)  # Bo builds on it
    e = finished_experiment(app, w["bo"], [d])
    c = app.establish_capability(w["bo"], programme_id=w["pid"], week=5,
                                 name="Shared data platform", description="Units share data",
                                 experiments=[e])

    cap = app.get_record(c)
    assert cap["kind"] == "capability" and cap["based_on"] == [str(e)]
    exp = app.get_record(cap["based_on"][0])
    assert exp["stage"] == "concluded" and exp["outcome"] == "adopt"
    assert exp["observations"] == ["Lead time fell"] and exp["units"] == ["soc", "it"]
    dec = app.get_record(exp["based_on"][0])
    assert dec["kind"] == "decision" and dec["statement"] == "Choose the other reading"
    ref = app.get_record(dec["based_on"][0])
    assert ref["kind"] == "reflection" and ref["id"] == str(r)
    assert ref["week"] == 2 and ref["material_id"] == w["m1"] and ref["unit"] == "soc"
    assert ref["example"] == "A rule read as forbidding a shared platform"
    assert ref["participant_id"] == str(w["ada"])
    assert event_names(app, e) == [
        "Experiment.Planned", "Experiment.Started", "Experiment.ObservationRecorded",
        "Experiment.Evaluated", "Experiment.Concluded",
    ]
    # who acted: each participant under their own id
    actors = {e_.originator_id: e_.actor for _, e_ in app.iter_log()}
    assert actors[r] == f"participant:{w['ada']}"
    assert actors[c] == f"participant:{w['bo']}"
    # log positions grow in the order things happened
    positions = {ev.originator_id: pos for pos, ev in app.iter_log()
                 if type(ev).__qualname__.split(".")[1] in
                 ("Logged", "Made", "Planned", "Established")}
    assert positions[r] < positions[d] < positions[e] < positions[c]


def test_capability_refused_from_experiment_not_adopted(app):
    w = setup_programme(app)
    e = finished_experiment(app, w["ada"], [], outcome="adapt")
    before = app.max_position()
    with pytest.raises(errors.BasedOnError):
        app.establish_capability(w["ada"], name="N", description="D", experiments=[e])
    assert app.max_position() == before


def test_next_cycle_continues_a_concluded_experiment(app):
    w = setup_programme(app)
    e = finished_experiment(app, w["ada"], [], outcome="adapt")
    n = app.plan_next_cycle(e, week=4, aim="Again", change="Smaller pilot",
                            prediction="Faster", measure="Lead time")
    assert app.get_record(e)["next_cycle_id"] == str(n)
    nxt = app.get_record(n)
    assert nxt["cycle"] == 2 and nxt["previous_cycle_id"] == str(e) and str(e) in nxt["based_on"]
    with pytest.raises(errors.LifecycleError):
        app.plan_next_cycle(e, aim="Third", change="c", prediction="p", measure="m")


# enrolment, weeks ------------------------------------------------------------------------


def test_participant_of_one_programme_cannot_log_in_another(app):
    a = setup_programme(app, "Programme A")
    b = setup_programme(app, "Programme B")
    before = app.max_position()
    with pytest.raises(errors.NotEnrolledError):
        log(app, a["ada"], b["pid"])
    with pytest.raises(errors.NotEnrolledError):
        app.make_decision(a["ada"], programme_id=b["pid"], statement="S")
    with pytest.raises(errors.NotEnrolledError):
        app.plan_experiment(a["ada"], programme_id=b["pid"], aim="a", change="c",
                            prediction="p", measure="m")
    assert app.max_position() == before
    assert app.get_record(log(app, a["ada"], a["pid"]))["programme_id"] == str(a["pid"])


def test_unknown_participant_and_programme(app):
    w = setup_programme(app)
    with pytest.raises(errors.ParticipantNotFoundError):
        log(app, uuid4(), w["pid"])
    with pytest.raises(errors.NotEnrolledError):
        log(app, w["ada"], uuid4())
    with pytest.raises(errors.ParticipantNotFoundError):
        log(app, "not-an-id")


@pytest.mark.parametrize("week", [0, 6, -1, "2", 2.0, True])
def test_unknown_week_is_refused_and_nothing_recorded(app, week):
    w = setup_programme(app)
    before = app.max_position()
    with pytest.raises(errors.UnknownWeekError):
        log(app, w["ada"], w["pid"], week=week)
    with pytest.raises(errors.UnknownWeekError):
        app.publish_material(w["pid"], week=week, kind="film", title="Film")
    assert app.max_position() == before


def test_unknown_material_and_area(app):
    w = setup_programme(app)
    with pytest.raises(errors.UnknownMaterialError):
        log(app, w["ada"], w["pid"], material_id="m99")
    with pytest.raises(errors.UnknownDevelopmentAreaError):
        log(app, w["ada"], w["pid"], development_areas=["a99"])


# based on ---------------------------------------------------------------------------------


def test_based_on_must_exist_be_in_the_programme_allowed_and_live(app):
    a = setup_programme(app, "A")
    b = setup_programme(app, "B")
    r_a = log(app, a["ada"])
    r_b = log(app, b["ada"])
    e_a = app.plan_experiment(a["ada"], aim="a", change="c", prediction="p", measure="m")
    withdrawn = log(app, a["ada"], example="Withdrawn later")
    app.withdraw_reflection(withdrawn)
    reversed_d = app.make_decision(a["ada"], statement="S", based_on=[r_a])
    app.reverse_decision(reversed_d, reason="No")
    before = app.max_position()
    cases = [
        ("another programme", lambda: app.make_decision(a["ada"], statement="S",
                                                        based_on=[r_b])),
        ("nonexistent", lambda: app.make_decision(a["ada"], statement="S",
                                                  based_on=[uuid4()])),
        ("a participant is no record", lambda: app.make_decision(a["ada"], statement="S",
                                                                 based_on=[a["bo"]])),
        ("decision on experiment", lambda: app.make_decision(a["ada"], statement="S",
                                                             based_on=[e_a])),
        ("capability on reflection", lambda: app.establish_capability(
            a["ada"], name="N", description="D", experiments=[r_a])),
        ("withdrawn", lambda: app.make_decision(a["ada"], statement="S",
                                                based_on=[withdrawn])),
        ("reversed", lambda: app.plan_experiment(a["ada"], aim="a", change="c", prediction="p",
                                                 measure="m", based_on=[reversed_d])),
    ]
    for label, attempt in cases:
        with pytest.raises(errors.BasedOnError):
            attempt()
        assert app.max_position() == before, label


def test_revision_that_makes_a_cycle_is_refused(app):
    w = setup_programme(app)
    r = log(app, w["ada"])
    d1 = app.make_decision(w["ada"], statement="First", based_on=[r])
    d2 = app.make_decision(w["ada"], statement="Second", based_on=[d1])
    d3 = app.make_decision(w["ada"], statement="Third", based_on=[d2])
    before = app.max_position()
    with pytest.raises(errors.LineageCycleError):
        app.revise_decision(d1, statement="First again", based_on=[r, d3])
    with pytest.raises(errors.LineageCycleError):
        app.revise_decision(d1, statement="On itself", based_on=[d1])
    assert app.max_position() == before
    assert app.get_record(d1)["based_on"] == [str(r)]
    app.revise_decision(d3, statement="Third, now on the first", based_on=[d1, r])
    assert app.get_record(d3)["based_on"] == [str(d1), str(r)]


# idempotency ----------------------------------------------------------------------------


CREATED = {
    "plan_programme": "Programme.Planned", "enrol_participant": "Participant.Enrolled",
    "log_reflection": "Reflection.Logged", "make_decision": "Decision.Made",
    "plan_experiment": "Experiment.Planned", "plan_next_cycle": "Experiment.Planned",
    "establish_capability": "Capability.Established",
}


def test_every_create_retried_with_its_request_id_creates_once(app):
    w = setup_programme(app)
    r = log(app, w["ada"], shared=True)  # Bo builds on it below
    adopted = finished_experiment(app, w["ada"], [])
    adapted = finished_experiment(app, w["ada"], [], outcome="adapt")
    creates = {
        "plan_programme": lambda: app.plan_programme(
            organisation="O", title="T", first_day=FIRST_DAY, units=UNITS, request_id="rq-p"),
        "enrol_participant": lambda: app.enrol_participant(
            w["pid"], name="Cy", email=None, role="expert", unit="bo", request_id="rq-e"),
        "log_reflection": lambda: log(app, w["bo"], request_id="rq-r"),
        "make_decision": lambda: app.make_decision(
            w["bo"], statement="S", based_on=[r], request_id="rq-d"),
        "plan_experiment": lambda: app.plan_experiment(
            w["bo"], aim="a", change="c", prediction="p", measure="m", request_id="rq-x"),
        "plan_next_cycle": lambda: app.plan_next_cycle(
            adapted, aim="a", change="c", prediction="p", measure="m", request_id="rq-n"),
        "establish_capability": lambda: app.establish_capability(
            w["ada"], name="N", description="D", experiments=[adopted], request_id="rq-c"),
    }
    for name, create in creates.items():
        first = create()
        position = app.max_position()
        assert create() == first, name
        assert create() == first, name
        assert app.max_position() == position, name
        counts = Counter(type(e).__qualname__ for _, e in app.iter_log()
                         if e.originator_id == first)
        assert counts[CREATED[name]] == 1, name
    assert event_names(app, adapted).count("Experiment.NextCyclePlanned") == 1
    # without a request id, a repeat is a new record
    assert log(app, w["bo"]) != log(app, w["bo"])


def test_retried_commands_with_a_request_id_add_no_event(app):
    w = setup_programme(app)
    pid, ada = w["pid"], w["ada"]
    r = log(app, ada)
    r2 = log(app, ada)
    d = app.make_decision(ada, statement="S", based_on=[r])
    e = app.plan_experiment(ada, aim="a", change="c", prediction="p", measure="m")
    adopted = finished_experiment(app, ada, [])
    cap = app.establish_capability(ada, name="N", description="D", experiments=[adopted])
    c1 = app.hold_check_in(pid, week=1, held_on=FIRST_DAY)
    a2 = app.identify_development_area(pid, name="Second")
    commands = [
        lambda rid: app.publish_material(pid, week=1, kind="film", title="F", request_id=rid),
        lambda rid: app.hold_check_in(pid, week=1, held_on=FIRST_DAY, request_id=rid),
        lambda rid: app.hold_session(pid, week=1, held_on=FIRST_DAY, request_id=rid),
        lambda rid: app.identify_development_area(pid, name="Third", request_id=rid),
        lambda rid: app.rename_development_area(pid, a2, name="2nd", request_id=rid),
        lambda rid: app.adopt_recommendation(pid, text="T", development_areas=[w["area"]],
                                             request_id=rid),
        lambda rid: app.assess_maturity(pid, phase="before", instrument="DiMiOS",
                                        scores={"digital_capability": 40}, request_id=rid),
        lambda rid: app.register_unit(pid, key="hr", name="HR", request_id=rid),
        lambda rid: app.withdraw_consent(ada, request_id=rid),
        lambda rid: app.give_consent(ada, request_id=rid),
        lambda rid: app.record_material_taken_part_of(ada, w["m1"], request_id=rid),
        lambda rid: app.record_attendance(ada, c1, request_id=rid),
        lambda rid: app.amend_reflection(r, example="Amended", request_id=rid),
        lambda rid: app.revise_decision(d, statement="Revised", based_on=[r], request_id=rid),
        lambda rid: app.start_experiment(e, week=3, request_id=rid),
        lambda rid: app.record_observation(e, text="Seen", request_id=rid),
        lambda rid: app.evaluate_experiment(e, result="R", learning="L", request_id=rid),
        lambda rid: app.conclude_experiment(e, outcome="abandon", request_id=rid),
        lambda rid: app.refine_capability(cap, description="Better", request_id=rid),
        lambda rid: app.apply_capability(cap, unit="bo", note="Used", request_id=rid),
        lambda rid: app.withdraw_reflection(r2, reason="Oops", request_id=rid),
        lambda rid: app.reverse_decision(d, reason="No", request_id=rid),
        lambda rid: app.merge_development_areas(pid, a2, into=w["area"], request_id=rid),
        lambda rid: app.close_programme(pid, request_id=rid),
    ]
    for i, command in enumerate(commands):
        rid = f"retry-{i}"
        before = app.max_position()
        first = command(rid)
        after = app.max_position()
        assert after == before + 1, i
        assert command(rid) == first, i
        assert app.max_position() == after, i
    # the retries did not hide real errors: without the request id these are refused
    with pytest.raises(errors.ProgrammeClosedError):
        app.close_programme(pid)
    assert event_names(app, e).count("Experiment.ObservationRecorded") == 1


def test_observation_without_request_id_is_recorded_each_time(app):
    w = setup_programme(app)
    e = app.plan_experiment(w["ada"], aim="a", change="c", prediction="p", measure="m")
    app.start_experiment(e)
    app.record_observation(e, text="Seen")
    app.record_observation(e, text="Seen")
    assert app.get_record(e)["observations"] == ["Seen", "Seen"]


def test_expected_version_mismatch_is_a_concurrent_change(app):
    w = setup_programme(app)
    r = log(app, w["ada"])
    assert app.get_record(r)["version"] == 1
    app.amend_reflection(r, example="First amendment", expected_version=1)
    before = app.max_position()
    with pytest.raises(errors.ConcurrentChangeError) as e:
        app.amend_reflection(r, example="Based on a stale read", expected_version=1)
    assert e.value.field == "version"
    assert app.max_position() == before
    assert app.get_record(r)["example"] == "First amendment"
    d = app.make_decision(w["ada"], statement="S")
    with pytest.raises(errors.ConcurrentChangeError):
        app.reverse_decision(d, reason="No", expected_version=2)
    e_id = app.plan_experiment(w["ada"], aim="a", change="c", prediction="p", measure="m")
    with pytest.raises(errors.ConcurrentChangeError):
        app.start_experiment(e_id, expected_version=0)
    app.amend_reflection(r, example="Second amendment", expected_version=2)
    assert app.get_record(r)["version"] == 3


def test_withdrawn_reflection_keeps_its_history_in_the_store(app):
    w = setup_programme(app)
    r = log(app, w["ada"], example="The original text")
    app.amend_reflection(r, example="The amended text")
    app.withdraw_reflection(r, reason="Duplicate")
    with pytest.raises(errors.RecordWithdrawnError):
        app.amend_reflection(r, example="After withdrawal")
    events = [e for _, e in app.iter_log() if e.originator_id == r]
    assert [type(e).__qualname__ for e in events] == [
        "Reflection.Logged", "Reflection.Amended", "Reflection.Withdrawn"
    ]
    assert events[0].example.text == "The original text"
    rec = app.get_record(r)
    assert rec["withdrawn"] is True and rec["void"] is True and rec["example"] == "The amended text"


def test_only_the_author_changes_a_record(app):
    w = setup_programme(app)
    r = log(app, w["ada"])
    with pytest.raises(errors.NotAuthorError):
        app.amend_reflection(r, participant_id=w["bo"], example="Not mine")
