"""As-of replay (projections/asof.py) against a fresh fold of exactly the events up to T,
and against the aggregates' own history — on SQLite and PostgreSQL (``app`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.context import acting_as, clock, participant_actor
from domain.demo import load_demo
from domain.describe import event_type
from domain.replay import RECORD_CREATED, ProgrammeState, change_of, programme_of
from projections import asof
from projections.base import event_time
from projections.runner import catch_up

STRUCTURE = ("progress", "lineage", "development_areas", "collaborations")


def direct_fold(events: list[tuple[int, Any]], pid: str, keep: Any) -> ProgrammeState:
    """A fresh ProgrammeState from exactly the programme's events for which keep(pos, ev)."""
    state = ProgrammeState(pid)
    members = {pid}
    for position, event in events:
        owner = programme_of(event)
        oid = str(event.originator_id)
        if (owner or (pid if oid in members else None)) != pid:
            continue
        if event_type(event) == "Participant.Enrolled" or event_type(event) in RECORD_CREATED:
            members.add(oid)
        if keep(position, event):
            state.apply(change_of(position, event))
    return state


def views(state: ProgrammeState) -> dict[str, Any]:
    return {name: getattr(state, name)() for name in STRUCTURE}


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setattr(asof, "CHECKPOINT_MIN", 25)  # many checkpoints in a small log
    result = load_demo(app, seed=5, participants=5)
    catch_up(app, batch_size=97)  # batches that do not line up with checkpoints
    events = list(app.iter_log())
    return app, str(result.programme_ids[0]), events


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_as_of_equals_a_fresh_fold_of_the_events_up_to_the_moment(demo, data):
    app, pid, events = demo
    head = events[-1][0]
    times = [datetime.fromisoformat(event_time(e)) for _, e in events]
    assert times == sorted(times)  # the demo's clock runs forward: time T is a log prefix

    # by log position
    n = data.draw(st.integers(min_value=1, max_value=head), label="position")
    got = asof.state_at(app.sql, pid, position=n)
    want = direct_fold(events, pid, lambda pos, _e: pos <= n)
    assert got.to_dict() == want.to_dict()

    # by event time: exactly the events with event_time <= T
    span = (times[-1] - times[0]).total_seconds()
    offset = data.draw(st.floats(min_value=0, max_value=span), label="seconds")
    moment = times[0] + timedelta(seconds=offset)
    got = asof.state_at(app.sql, pid, time=moment.isoformat())
    want = direct_fold(events, pid, lambda _p, e: datetime.fromisoformat(event_time(e)) <= moment)
    assert views(got) == views(want)
    assert got.records.keys() == want.records.keys()

    # each record's stage, links and voiding equal the aggregate at its version as of T
    for rid, r in got.records.items():
        record = app.repository.get(UUID(rid), version=r["changes"] + 1)
        assert record.is_void == r["void"]
        assert [str(b) for b in record.based_on] == r["based_on"]
        if r["kind"] == "experiment":
            assert record.stage.value == r["stage"]
        assert record.modified_on <= moment


def test_as_of_now_and_after_more_events_and_a_restart(app):
    result = load_demo(app, seed=2, participants=3)
    pid = str(result.programme_ids[0])
    catch_up(app)
    first = asof.state_at(app.sql, pid)
    assert first.position == app.max_position()
    people = result.participants[result.programme_ids[0]]
    with acting_as(participant_actor(people[0])):
        rid = app.log_reflection(people[0], programme_id=pid, week=2, example="e",
                                 deficiency="d", solutions="s")
    catch_up(app)  # a new runner: loads its state from the tables, then folds on
    later = asof.state_at(app.sql, pid)
    assert str(rid) in later.records and str(rid) not in first.records
    assert asof.state_at(app.sql, pid, position=first.position).to_dict() == first.to_dict()


def test_amended_and_withdrawn_records_before_and_after_the_change(app):
    result = load_demo(app, seed=1, participants=30)
    pid = str(result.programme_ids[0])
    catch_up(app)
    changes = asof.changes(app.sql, pid)
    withdrawn = next(c for c in changes if c["type"] == "Reflection.Withdrawn")
    before = asof.state_at(app.sql, pid, position=withdrawn["position"] - 1)
    after = asof.state_at(app.sql, pid, position=withdrawn["position"])
    assert before.records[withdrawn["id"]]["void"] is False
    assert after.records[withdrawn["id"]]["void"] is True  # still there, marked void
    amended = next(c for c in changes if c["type"] == "Reflection.Amended")
    before = asof.state_at(app.sql, pid, position=amended["position"] - 1)
    after = asof.state_at(app.sql, pid, position=amended["position"])
    assert before.records[amended["id"]]["changes"] + 1 == after.records[amended["id"]]["changes"]
    assert after.records[amended["id"]]["areas"] == amended["areas"]


def test_time_with_a_clock_out_of_log_order_is_the_longest_prefix_before_it(app):
    result = load_demo(app, seed=4, participants=2)
    pid = str(result.programme_ids[0])
    person = result.participants[result.programme_ids[0]][0]
    base = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    ids = []
    for minutes in (10, 5, 20):  # the second is logged later but stamped earlier
        with clock(lambda m=minutes: base + timedelta(minutes=m)), \
                acting_as(participant_actor(person)):
            ids.append(str(app.log_reflection(person, programme_id=pid, week=5, example="e",
                                              deficiency="d", solutions="s")))
    catch_up(app)
    at = asof.state_at(app.sql, pid, time=(base + timedelta(minutes=7)).isoformat())
    assert not set(ids) & set(at.records)  # 5-minute one waits behind the 10-minute one
    at = asof.state_at(app.sql, pid, time=(base + timedelta(minutes=12)).isoformat())
    assert set(ids[:2]) <= set(at.records) and ids[2] not in at.records
    assert asof.state_at(app.sql, pid, time="2026-12-01").records.keys() >= set(ids)


def test_unknown_programme_and_bad_moments(app):
    load_demo(app, seed=1, participants=2)
    catch_up(app)
    with pytest.raises(asof.UnknownProgrammeError):
        asof.state_at(app.sql, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(asof.InvalidMomentError):
        asof.parse_moment("next tuesday")
    assert asof.parse_moment("42") == (42, None)
    assert asof.parse_moment("2026-09-25") == (None, "2026-09-25T23:59:59.999999+00:00")
