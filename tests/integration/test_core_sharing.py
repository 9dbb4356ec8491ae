"""Building on colleagues' records and joint work, through the application, on SQLite and
PostgreSQL (docs/adr/0007-sharing-and-teams.md)."""

from __future__ import annotations

import pytest

from domain import errors
from tests.integration.test_core_app import event_names, log, setup_programme


def plan(app, who, **kw):
    kw.setdefault("week", 3)
    return app.plan_experiment(who, aim="Share data", change="Pilot", prediction="Faster",
                               measure="Lead time", **kw)


def test_a_colleagues_record_can_be_built_on_only_once_shared(app):
    w = setup_programme(app)
    r = log(app, w["ada"])
    with pytest.raises(errors.BasedOnError, match="not shared"):
        app.make_decision(w["bo"], statement="S", based_on=[r])
    app.share_record(r, participant_id=w["ada"])
    d = app.make_decision(w["bo"], statement="S", based_on=[r], units=["it", "soc"],
                          participants=[w["ada"]])
    rec = app.get_record(d)
    assert rec["based_on"] == [str(r)] and rec["units"] == ["it", "soc"]
    assert rec["participants"] == [str(w["ada"])] and rec["shared"] is False
    app.unshare_record(r, participant_id=w["ada"])
    assert app.get_record(d)["based_on"] == [str(r)]  # a link made stays
    assert event_names(app, r)[1:] == ["Reflection.Shared", "Reflection.Unshared"]
    # one's own records, shared or not
    own = log(app, w["bo"])
    app.make_decision(w["bo"], statement="S2", based_on=[own])


def test_only_the_author_shares_and_other_rules_hold(app):
    w = setup_programme(app)
    r = log(app, w["ada"], shared=True)
    with pytest.raises(errors.NotAuthorError):
        app.share_record(r, participant_id=w["bo"])
    with pytest.raises(errors.BasedOnError):  # kind rules stay: a capability needs experiments
        app.establish_capability(w["bo"], name="N", description="D", experiments=[r])
    other = setup_programme(app, title="Another")
    with pytest.raises(errors.NotEnrolledError):
        app.make_decision(w["bo"], statement="S", participants=[other["ada"]])
    with pytest.raises(errors.UnknownUnitError):
        app.make_decision(w["bo"], statement="S", units=["nope"])


def test_any_team_member_takes_the_experiment_through_its_cycle(app):
    w = setup_programme(app)
    cy = app.enrol_participant(w["pid"], name="Cy", email=None, role="expert", unit="bo")
    e = plan(app, w["bo"], team=[w["ada"]], units=["it", "soc"])
    with pytest.raises(errors.NotTeamMemberError):
        app.start_experiment(e, participant_id=cy, week=3)
    app.start_experiment(e, participant_id=w["ada"], week=3)
    app.record_observation(e, participant_id=w["ada"], text="Seen by Ada")
    app.evaluate_experiment(e, participant_id=w["bo"], result="R", learning="L")
    app.conclude_experiment(e, participant_id=w["ada"], outcome="adopt")
    rec = app.get_record(e)
    assert rec["stage"] == "concluded" and rec["observations"] == ["Seen by Ada"]
    assert rec["team"] == [str(w["ada"])]
    # a member establishes a capability from the team's experiment, with its own team
    c = app.establish_capability(w["ada"], name="Shared platform", description="D",
                                 experiments=[e], team=[w["bo"]])
    app.refine_capability(c, participant_id=w["bo"], description="Refined by Bo")
    assert app.get_record(c)["description"] == "Refined by Bo"
    with pytest.raises(errors.NotTeamMemberError):
        app.apply_capability(c, participant_id=cy, unit="bo", note="n")
    # a member plans the next cycle: they author it, the previous author joins its team
    nxt = app.plan_next_cycle(e, participant_id=w["ada"], aim="a", change="c",
                              prediction="p", measure="m")
    nrec = app.get_record(nxt)
    assert nrec["participant_id"] == str(w["ada"]) and nrec["team"] == [str(w["bo"])]


def test_team_changes_and_joining(app):
    w = setup_programme(app)
    cy = app.enrol_participant(w["pid"], name="Cy", email=None, role="expert", unit="bo")
    e = plan(app, w["bo"])
    with pytest.raises(errors.NotSharedError):
        app.join_team(e, participant_id=cy)
    with pytest.raises(errors.NotAuthorError):
        app.add_team_member(e, cy, participant_id=w["ada"])
    app.add_team_member(e, w["ada"], participant_id=w["bo"])
    app.share_record(e, participant_id=w["bo"])
    app.join_team(e, participant_id=cy)
    with pytest.raises(errors.NotAuthorError):  # members leave; only the author removes others
        app.remove_team_member(e, w["ada"], participant_id=cy)
    app.remove_team_member(e, cy, participant_id=cy)
    app.remove_team_member(e, w["ada"], participant_id=w["bo"])
    assert app.get_record(e)["team"] == []
    assert event_names(app, e)[1:] == [
        "Experiment.TeamMemberAdded", "Experiment.Shared", "Experiment.TeamMemberJoined",
        "Experiment.TeamMemberRemoved", "Experiment.TeamMemberRemoved"]
    other = setup_programme(app, title="Another")
    with pytest.raises(errors.NotEnrolledError):
        app.add_team_member(e, other["ada"], participant_id=w["bo"])
    r = log(app, w["bo"])
    with pytest.raises(errors.InvalidValueError):
        app.add_team_member(r, w["ada"], participant_id=w["bo"])  # a reflection has no team


def test_team_member_erased_keeps_the_rest_readable(app):
    w = setup_programme(app)
    e = plan(app, w["bo"], team=[w["ada"]])
    app.start_experiment(e, participant_id=w["bo"], week=3)
    app.record_observation(e, participant_id=w["ada"], text="Ada's words")
    app.record_observation(e, participant_id=w["bo"], text="Bo's words")
    app.erase_participant(w["ada"])
    rec = app.get_record(e)
    assert rec["aim"] == "Share data" and "Bo's words" in rec["observations"]
    assert "Ada's words" not in rec["observations"]


@pytest.mark.parametrize("projected", [True, False])
def test_the_based_on_picker_lists_shared_records_with_author_and_unit(app, projected):
    """``queries.shared_records``: colleagues' shared records and one's own, searched and
    filtered, from the read model and from the log written since (``projected``)."""
    from projections import queries
    from projections.runner import catch_up

    w = setup_programme(app)
    shared = log(app, w["ada"], shared=True, example="A rule read as forbidding sharing",
                 development_areas=[w["area"]])
    private = log(app, w["ada"], example="Only for the researchers")
    own = log(app, w["bo"], week=3, example="My own note")
    withdrawn = log(app, w["ada"], shared=True, example="Taken back")
    app.withdraw_reflection(withdrawn)
    if projected:
        catch_up(app)
    late = app.make_decision(w["ada"], statement="Shared after the read model", shared=True,
                             week=4)
    rows = queries.shared_records(app, w["pid"], viewer_id=w["bo"])
    ids = [r["id"] for r in rows]
    assert set(ids) == {str(shared), str(own), str(late)}
    assert str(private) not in ids and str(withdrawn) not in ids
    first = next(r for r in rows if r["id"] == str(shared))
    assert first["author"] == "Ada" and first["unit"] == "soc"
    assert first["unit_name"] == "Social services" and first["own"] is False
    assert first["title"] == "A rule read as forbidding sharing"
    mine = next(r for r in rows if r["id"] == str(own))
    assert mine["own"] is True and mine["shared"] is False
    assert [r["id"] for r in queries.shared_records(
        app, w["pid"], viewer_id=w["bo"], text="FORBIDDING")] == [str(shared)]
    assert [r["id"] for r in queries.shared_records(
        app, w["pid"], viewer_id=w["bo"], kind="decision")] == [str(late)]
    assert [r["id"] for r in queries.shared_records(
        app, w["pid"], viewer_id=w["bo"], week=3)] == [str(own)]
    assert [r["id"] for r in queries.shared_records(
        app, w["pid"], viewer_id=w["bo"], unit="soc", area=w["area"])] == [str(shared)]
    # the researchers' view of the course group (no viewer): shared ones only
    assert {r["id"] for r in queries.shared_records(app, w["pid"])} == {str(shared), str(late)}
    app.erase_participant(w["ada"])
    erased = queries.shared_records(app, w["pid"], viewer_id=w["bo"], kind="reflection",
                                    unit="soc")
    assert [r["author"] for r in erased] == ["erased participant"]
    with pytest.raises(queries.InvalidQueryError):
        queries.shared_records(app, w["pid"], kind="nonsense")


@pytest.mark.parametrize("projected", [True, False])
def test_the_picker_limit_counts_only_the_kinds_it_offers(app, projected):
    """A form that builds on decisions and experiments: newer reflections must not crowd
    older decisions out of the limited list (``kinds`` filters before ``limit``)."""
    from projections import queries
    from projections.runner import catch_up

    w = setup_programme(app)
    older = app.make_decision(w["ada"], statement="An early decision", shared=True, week=1)
    newer = [log(app, w["ada"], shared=True, example=f"Reflection {i}") for i in range(3)]
    if projected:
        catch_up(app)
    rows = queries.shared_records(app, w["pid"], viewer_id=w["bo"], limit=2,
                                  kinds=("decision", "experiment"))
    assert [r["id"] for r in rows] == [str(older)]
    both = queries.shared_records(app, w["pid"], viewer_id=w["bo"], limit=2,
                                  kinds=("reflection", "decision"))
    assert [r["id"] for r in both] == [str(n) for n in reversed(newer[1:])]
    with pytest.raises(queries.InvalidQueryError):
        queries.shared_records(app, w["pid"], kinds=("reflection", "nonsense"))
    with pytest.raises(queries.InvalidQueryError):
        queries.shared_records(app, w["pid"], kinds=())
