"""Sharing with the course group and teams (docs/adr/0007-sharing-and-teams.md): each new
event with collect_events(), each guard, and that events replay to the same state."""

from __future__ import annotations

from functools import reduce

import pytest

from domain import errors
from domain.model import Capability, Experiment, Participant
from domain.values import Outcome, Role
from tests.unit.test_unit_records import concluded, decision, experiment, reflection


def names(events) -> list[str]:
    return [type(e).__qualname__ for e in events]


def replay(events):
    return reduce(lambda agg, e: e.mutate(agg), events, None)


@pytest.fixture
def colleague(programme) -> Participant:
    p = Participant.enrol(programme, name="Bo Berg", email=None, role=Role.EXPERT, unit="it")
    p.collect_events()
    return p


def test_records_are_for_the_researchers_only_unless_shared_at_creation(programme, author):
    """The privacy-safe default: a record is shared only when its author says so."""
    assert reflection(programme, author).shared is False
    r = reflection(programme, author, shared=True)
    assert r.shared is True and r.collect_events()[0].shared is True


@pytest.mark.parametrize("make", [reflection, decision, experiment])
def test_share_and_unshare_are_events_of_the_records_kind(programme, author, make):
    record = make(programme, author)
    record.share()
    record.share()  # already shared: nothing more to record
    record.unshare()
    events = record.collect_events()
    kind = type(record).__name__
    assert names(events) == [names(events)[0], f"{kind}.Shared", f"{kind}.Unshared"]
    assert replay(events).shared is False
    assert replay(events[:2]).shared is True


def test_an_old_creation_event_without_shared_replays_as_not_shared(programme, author):
    """Events stored before sharing existed have no ``shared`` field."""
    event = reflection(programme, author).collect_events()[0]
    del event.__dict__["shared"]
    assert replay([event]).shared is False


def test_decision_names_the_participants_it_involves(programme, author, colleague):
    d = decision(programme, author, units=["soc", "it"], participants=[colleague.id])
    assert d.units == ["soc", "it"] and d.participants == [colleague.id]
    d.revise(statement="S2", rationale=None, based_on=[], units=["soc"])
    assert d.participants == [colleague.id]  # None keeps them
    d.revise(statement="S3", rationale=None, based_on=[], units=["soc"], participants=[])
    assert replay(d.collect_events()).participants == []


def test_team_members_are_added_removed_and_join(programme, author, colleague):
    e = experiment(programme, author, team=[colleague.id, author.id])
    assert e.team == [colleague.id]  # the author is not listed in their own team
    e.remove_team_member(colleague.id)
    e.add_team_member(colleague.id)
    e.add_team_member(colleague.id)  # a member already: nothing recorded
    events = e.collect_events()
    assert names(events)[1:] == ["Experiment.TeamMemberRemoved", "Experiment.TeamMemberAdded"]
    assert events[1].member_id == colleague.id
    assert replay(events).team == [colleague.id]
    assert e.members == [author.id, colleague.id]


def test_the_author_cannot_be_added_or_removed(programme, author):
    e = experiment(programme, author)
    with pytest.raises(errors.InvalidValueError):
        e.add_team_member(author.id)
    with pytest.raises(errors.InvalidValueError):
        e.remove_team_member(author.id)
    assert e.collect_events()[1:] == []


def test_only_a_shared_experiment_can_be_joined(programme, author, colleague):
    e = experiment(programme, author)
    with pytest.raises(errors.NotSharedError):
        e.join(colleague.id)
    e.share()
    e.join(colleague.id)
    e.join(colleague.id)  # a member already
    assert names(e.collect_events())[1:] == ["Experiment.Shared", "Experiment.TeamMemberJoined"]
    assert e.team == [colleague.id]


def test_member_guard_and_visibility(programme, author, colleague):
    e = experiment(programme, author)
    with pytest.raises(errors.NotTeamMemberError):
        e.require_member(colleague.id)
    assert not e.visible_to(colleague.id) and e.visible_to(author.id)
    e.add_team_member(colleague.id)
    e.require_member(colleague.id)
    assert e.visible_to(colleague.id)
    r = reflection(programme, author)
    assert not r.visible_to(colleague.id)
    r.share()
    assert r.visible_to(colleague.id)
    with pytest.raises(errors.NotAuthorError):
        r.require_author(colleague.id)  # sharing lets colleagues build on it, not change it


def test_a_members_words_are_sealed_with_their_own_key(programme, author, colleague):
    e = experiment(programme, author, team=[colleague.id])
    e.start(3)
    e.record_observation("Seen by Bo", by=colleague.id)
    e.evaluate(result="R", learning="L", by=colleague.id)
    e.conclude(Outcome.ADOPT)
    assert e.observations[0].subject == colleague.id
    assert e.result.subject == colleague.id and e.learning.subject == colleague.id


def test_capability_team_from_a_colleagues_experiment(programme, author, colleague):
    adopted = concluded(programme, author, Outcome.ADOPT)
    c = Capability.establish(
        programme_id=programme.id, author=colleague, week=4, name="Shared platform",
        description="D", experiments=[adopted], units=[], development_areas=[],
        team=[author.id], shared=True)
    c.refine("D2", by=author.id)
    c.join(author.id)
    c.remove_team_member(author.id)
    events = c.collect_events()
    assert names(events) == ["Capability.Established", "Capability.Refined",
                             "Capability.TeamMemberRemoved"]
    assert events[0].team == [author.id] and events[0].shared is True
    assert c.description.subject == author.id
    assert replay(events).team == []


def test_experiment_created_with_team_carries_it_in_its_event(programme, author, colleague):
    e = experiment(programme, author, team=[colleague.id])
    created = e.collect_events()[0]
    assert created.team == [colleague.id]
    assert isinstance(replay([created]), Experiment)
