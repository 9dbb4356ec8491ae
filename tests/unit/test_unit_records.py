"""Record rules: reflections, decisions, experiments (forward only), capabilities."""

from __future__ import annotations

from functools import reduce
from uuid import uuid4

import pytest

from domain import errors
from domain.model import Capability, Decision, Experiment, Participant, Reflection
from domain.privacy import PersonalData
from domain.values import Outcome, Role, Stage


def names(events) -> list[str]:
    return [type(e).__qualname__ for e in events]


def replay(events):
    return reduce(lambda agg, e: e.mutate(agg), events, None)


def reflection(programme, author, **overrides) -> Reflection:
    kwargs = dict(
        programme_id=programme.id, author=author, week=2, material_id="m1",
        example="Our rule forbids a shared data platform", deficiency="Silo thinking",
        solutions="Read the rule again", development_areas=["a1"],
    )
    kwargs.update(overrides)
    return Reflection.log(**kwargs)


def decision(programme, author, based_on=(), **overrides) -> Decision:
    kwargs = dict(
        programme_id=programme.id, author=author, week=3,
        statement="Choose another interpretation", rationale="The rule allows it",
        based_on=list(based_on), units=[], development_areas=[],
    )
    kwargs.update(overrides)
    return Decision.make(**kwargs)


def experiment(programme, author, based_on=(), **overrides) -> Experiment:
    kwargs = dict(
        programme_id=programme.id, author=author, week=3, aim="Share data",
        change="Pilot a shared platform", prediction="Faster case handling",
        measure="Lead time", based_on=list(based_on), units=["soc", "it"],
        development_areas=[],
    )
    kwargs.update(overrides)
    return Experiment.plan(**kwargs)


def concluded(programme, author, outcome: Outcome) -> Experiment:
    e = experiment(programme, author)
    e.start(3)
    e.evaluate(result="It worked", learning="Ask IT early")
    e.conclude(outcome)
    return e


# reflections -----------------------------------------------------------------------


def test_reflection_logged_with_personal_text_of_its_author(programme, author):
    r = reflection(programme, author, deficiency="  ", solutions=None)
    events = r.collect_events()
    assert names(events) == ["Reflection.Logged"]
    assert r.participant_id == author.id and r.unit == "soc" and r.week == 2
    assert r.example == PersonalData(author.id, "Our rule forbids a shared data platform")
    assert r.deficiency is None and r.solutions is None
    assert r.based_on == [] and r.withdrawn is False and r.amendments == 0
    assert r.development_areas == ["a1"]


@pytest.mark.parametrize("example", ["", "   ", "x" * 5001])
def test_reflection_needs_an_example(programme, author, example):
    with pytest.raises(errors.InvalidValueError) as e:
        reflection(programme, author, example=example)
    assert e.value.field == "example"


def test_amendment_is_a_new_event_and_history_keeps_the_original(programme, author):
    r = reflection(programme, author)
    r.amend(example="On second reading the rule allows it", deficiency=None,
            solutions="Ask legal", development_areas=["a2"])
    events = r.collect_events()
    assert names(events) == ["Reflection.Logged", "Reflection.Amended"]
    assert r.example.text == "On second reading the rule allows it"
    assert r.deficiency is None and r.solutions.text == "Ask legal"
    assert r.development_areas == ["a2"] and r.amendments == 1 and r.version == 2
    assert events[0].example.text == "Our rule forbids a shared data platform"
    assert replay(events[:1]).example.text == "Our rule forbids a shared data platform"
    assert replay(events).example.text == "On second reading the rule allows it"


def test_withdrawn_reflection_cannot_be_amended_or_withdrawn_again(programme, author):
    r = reflection(programme, author)
    r.withdraw("Wrote it in the wrong programme")
    assert r.withdrawn is True and r.is_void is True
    assert r.withdrawal_reason.text == "Wrote it in the wrong programme"
    with pytest.raises(errors.RecordWithdrawnError):
        r.amend(example="Too late", deficiency=None, solutions=None, development_areas=[])
    with pytest.raises(errors.RecordWithdrawnError):
        r.withdraw()
    events = r.collect_events()
    assert names(events) == ["Reflection.Logged", "Reflection.Withdrawn"]
    assert events[0].example.text == "Our rule forbids a shared data platform"
    assert r.example.text == "Our rule forbids a shared data platform"
    rebuilt = replay(events)
    assert rebuilt.withdrawn is True and rebuilt.example == r.example


def test_withdrawal_without_reason(programme, author):
    r = reflection(programme, author)
    r.withdraw()
    assert r.withdrawal_reason is None


def test_only_the_author_may_change_a_record(programme, author):
    r = reflection(programme, author)
    r.require_author(author.id)
    with pytest.raises(errors.NotAuthorError):
        r.require_author(uuid4())


# decisions ----------------------------------------------------------------------------


def test_decision_made_revised_reversed(programme, author):
    base1, base2 = uuid4(), uuid4()
    d = decision(programme, author, based_on=[base1, base1, base2])
    assert d.based_on == [base1, base2]
    assert d.units == ["soc"]  # defaults to the author's unit
    d.revise(statement="Choose the second reading", rationale=None, based_on=[base2],
             units=["soc", "it", "it"])
    assert d.statement.text == "Choose the second reading" and d.rationale is None
    assert d.based_on == [base2] and d.units == ["soc", "it"] and d.revisions == 1
    d.reverse("The council said no")
    assert d.reversed is True and d.is_void is True
    assert d.reversal_reason == PersonalData(author.id, "The council said no")
    events = d.collect_events()
    assert names(events) == ["Decision.Made", "Decision.Revised", "Decision.Reversed"]
    assert events[0].statement.text == "Choose another interpretation"


def test_reversed_decision_cannot_be_revised_or_reversed_again(programme, author):
    d = decision(programme, author)
    d.reverse("No")
    with pytest.raises(errors.DecisionReversedError):
        d.revise(statement="Yes after all", rationale=None, based_on=[], units=[])
    with pytest.raises(errors.DecisionReversedError):
        d.reverse("No again")
    assert names(d.collect_events()) == ["Decision.Made", "Decision.Reversed"]


def test_decision_reversal_needs_a_reason(programme, author):
    d = decision(programme, author)
    with pytest.raises(errors.InvalidValueError):
        d.reverse(" ")
    assert d.reversed is False


# experiments ----------------------------------------------------------------------------


def test_experiment_whole_cycle_moves_forward(programme, author):
    e = experiment(programme, author)
    assert e.stage is Stage.PLANNED and e.cycle == 1 and e.previous_cycle_id is None
    e.start(3)
    assert e.stage is Stage.STARTED and e.started_week == 3
    e.record_observation("Lead time fell from 10 to 6 days")
    e.record_observation("Staff asked for training")
    e.evaluate(result="Prediction held", learning="Involve IT from the start")
    assert e.stage is Stage.EVALUATED
    e.conclude(Outcome.ADOPT)
    assert e.stage is Stage.CONCLUDED and e.outcome is Outcome.ADOPT
    assert [o.text for o in e.observations] == [
        "Lead time fell from 10 to 6 days", "Staff asked for training"
    ]
    assert names(e.collect_events()) == [
        "Experiment.Planned", "Experiment.Started", "Experiment.ObservationRecorded",
        "Experiment.ObservationRecorded", "Experiment.Evaluated", "Experiment.Concluded",
    ]


def _start(e):
    e.start(3)


def _observe(e):
    e.record_observation("seen")


def _evaluate(e):
    e.evaluate(result="r", learning="l")


def _conclude(e):
    e.conclude(Outcome.ADAPT)


def _next(e):
    e.link_next_cycle(uuid4())


# (steps taken first, the step that must fail)
BACKWARDS = {
    "start twice": ([_start], _start),
    "evaluate before start": ([], _evaluate),
    "conclude before start": ([], _conclude),
    "conclude before evaluate": ([_start], _conclude),
    "observation before start": ([], _observe),
    "observation after evaluation": ([_start, _evaluate], _observe),
    "observation after conclusion": ([_start, _evaluate, _conclude], _observe),
    "evaluate twice": ([_start, _evaluate], _evaluate),
    "conclude twice": ([_start, _evaluate, _conclude], _conclude),
    "start after evaluation": ([_start, _evaluate], _start),
    "start after conclusion": ([_start, _evaluate, _conclude], _start),
    "next cycle when planned": ([], _next),
    "next cycle when started": ([_start], _next),
    "next cycle before conclusion": ([_start, _evaluate], _next),
    "second next cycle": ([_start, _evaluate, _conclude, _next], _next),
}


@pytest.mark.parametrize("done, step", BACKWARDS.values(), ids=BACKWARDS.keys())
def test_experiment_refuses_every_backward_or_skipping_step(programme, author, done, step):
    e = experiment(programme, author)
    for s in done:
        s(e)
    before = (e.stage, e.version, len(e.observations), e.next_cycle_id)
    e.collect_events()
    with pytest.raises(errors.LifecycleError) as err:
        step(e)
    assert err.value.field == "stage"
    assert (e.stage, e.version, len(e.observations), e.next_cycle_id) == before
    assert e.collect_events() == []


def test_next_cycle_links_both_ways(programme, author):
    first = concluded(programme, author, Outcome.ADAPT)
    base = uuid4()
    second = experiment(programme, author, based_on=[base], previous=first)
    first.link_next_cycle(second.id)
    assert second.cycle == 2 and second.previous_cycle_id == first.id
    assert second.based_on == [base, first.id]
    assert first.next_cycle_id == second.id
    assert names(first.collect_events())[-1] == "Experiment.NextCyclePlanned"


# capabilities ---------------------------------------------------------------------------


def test_capability_established_from_adopted_experiments(programme, author):
    e1 = concluded(programme, author, Outcome.ADOPT)
    e2 = concluded(programme, author, Outcome.ADOPT)
    c = Capability.establish(
        programme_id=programme.id, author=author, week=5, name="Shared data platform",
        description="Units share case data", experiments=[e1, e2], units=["soc", "it"],
        development_areas=[],
    )
    assert c.based_on == [e1.id, e2.id] and c.units == ["soc", "it"]
    c.refine("Units share case data under one agreement")
    c.apply_in("bo", "Used for tenancy cases")
    assert c.refinements == 1 and c.description.text.endswith("one agreement")
    assert c.applications == [{"unit": "bo", "note": PersonalData(author.id,
                                                                  "Used for tenancy cases")}]
    assert names(c.collect_events()) == [
        "Capability.Established", "Capability.Refined", "Capability.Applied"
    ]


def _unconcluded(programme, author):
    e = experiment(programme, author)
    e.start(3)
    e.evaluate(result="r", learning="l")
    return e


@pytest.mark.parametrize(
    "make",
    [
        lambda p, a: [],
        lambda p, a: [concluded(p, a, Outcome.ADAPT)],
        lambda p, a: [concluded(p, a, Outcome.ABANDON)],
        lambda p, a: [experiment(p, a)],
        lambda p, a: [_unconcluded(p, a)],
        lambda p, a: [concluded(p, a, Outcome.ADOPT), concluded(p, a, Outcome.ABANDON)],
    ],
    ids=["none", "adapt", "abandon", "planned", "evaluated", "one-of-two-abandoned"],
)
def test_capability_only_from_experiments_concluded_adopt(programme, author, make):
    with pytest.raises(errors.BasedOnError) as e:
        Capability.establish(
            programme_id=programme.id, author=author, week=5, name="N", description="D",
            experiments=make(programme, author), units=[], development_areas=[],
        )
    assert e.value.field == "based_on"


def test_records_of_another_author_carry_their_own_subject(programme):
    bob = Participant.enrol(programme, name="Bob", email=None, role=Role.EXPERT, unit="it")
    r = reflection(programme, bob)
    assert r.example.subject == bob.id and r.unit == "it"
