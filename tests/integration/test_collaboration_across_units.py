"""The product's central finding in the read models: two participants of two units, A's
shared reflection, B's decision based on it, a joint experiment, B's capability. The
collaboration and lineage answers count the links across participants and units, the
capability's lineage walks back to A's reflection, and the as-of state agrees. On SQLite
and PostgreSQL (``app`` fixture); through the JSON API as evaluators read it."""

from __future__ import annotations

from datetime import date

from api_support import catch_up, flask_app

from domain.accounts import issue_token
from projections import asof
from projections import queries as q

UNITS = [{"key": "soc", "name": "Socialförvaltningen"}, {"key": "it", "name": "IT-avdelningen"}]


def chain(app):
    pid = app.plan_programme(organisation="Exempelby kommun", title="Över gränserna",
                             first_day=date(2026, 9, 7), units=UNITS)
    a = app.enrol_participant(pid, name="Anna", email=None, role="manager", unit="soc",
                              consent=True)
    b = app.enrol_participant(pid, name="Bo", email=None, role="expert", unit="it",
                              consent=True)
    r = app.log_reflection(a, week=1, example="The rule seems to forbid sharing", shared=True)
    d = app.make_decision(b, week=2, statement="Read the rule again", based_on=[r],
                          units=["it", "soc"], participants=[a], shared=True)
    e = app.plan_experiment(b, week=3, aim="Pilot", change="One platform", prediction="Faster",
                            measure="Lead time", based_on=[d], team=[a], shared=True)
    app.start_experiment(e, participant_id=a, week=3)  # A, a team member, takes a step
    app.record_observation(e, participant_id=a, text="Lead time fell")
    app.evaluate_experiment(e, participant_id=b, result="It held", learning="Ask IT early")
    app.conclude_experiment(e, participant_id=b, outcome="adopt")
    c = app.establish_capability(b, week=4, name="Shared platform", description="d",
                                 experiments=[e], team=[a], shared=True)
    return {"pid": pid, "a": a, "b": b, "r": r, "d": d, "e": e, "c": c}


def test_collaboration_and_lineage_count_the_links_across_participants_and_units(app):
    w = chain(app)
    catch_up(app)
    pid = str(w["pid"])
    # lineage: the capability walks back to A's reflection; B's decision -> A's reflection
    # is the one link across participants and units (the rest are B's own links)
    graph = q.lineage(app.sql, pid, str(w["c"]))
    assert {n["id"] for n in graph["nodes"]} == {str(w[k]) for k in "rdec"}
    [across] = [e for e in graph["edges"] if e["cross_unit"]]
    assert (across["from"], across["to"]) == (str(w["d"]), str(w["r"]))
    assert across["cross_participant"]
    assert graph["cross_participant_links"] == 1 and graph["cross_unit_links"] == 1
    assert all(n["shared"] for n in graph["nodes"])
    # collaborations: the link in week 2 and the two joint records with A in the team
    rows = {(c["week"], c["unit_a"], c["unit_b"]): c for c in q.collaborations(app.sql, pid)}
    assert rows[(2, "it", "soc")]["links"] == 1 and rows[(2, "it", "soc")]["decisions"] == 1
    assert rows[(3, "it", "soc")]["teams"] == 1 and rows[(4, "it", "soc")]["teams"] == 1
    assert q.collaboration_links(app.sql, pid) == {
        "links": 3, "cross_participant_links": 1, "cross_unit_links": 1, "joint_records": 2}
    # the as-of state folds the same
    state = asof.state_at(app.sql, pid)
    crossing = [e for e in state.lineage()["edges"] if e["cross_unit"]]
    assert [(e["from"], e["to"]) for e in crossing] == [(str(w["d"]), str(w["r"]))]
    assert state.records[str(w["e"])]["team"] == [str(w["a"])]
    assert state.records[str(w["r"])]["shared"] is True
    # through the API, as an evaluator reads it
    token, _ = issue_token(app, role="evaluator", label="collaboration test")
    client = flask_app(app).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/programmes/{pid}/collaborations", headers=headers).get_json()
    assert body["cross_unit_links"] == 1 and body["cross_participant_links"] == 1
    assert body["joint_records"] == 2
    assert any(i["links"] == 1 for i in body["items"])
    body = client.get(f"/api/v1/programmes/{pid}/lineage?record_id={w['c']}",
                      headers=headers).get_json()
    assert body["cross_unit_links"] == 1
    assert any(e["cross_participant"] for e in body["edges"])


def test_consent_applies_to_links_and_teams(app):
    """A's withdrawn consent takes A's records, their links and A's team places with it."""
    w = chain(app)
    app.withdraw_consent(w["a"])
    catch_up(app)
    pid = str(w["pid"])
    assert q.collaboration_links(app.sql, pid) == {
        "links": 2, "cross_participant_links": 0, "cross_unit_links": 0, "joint_records": 0}
    assert all(c["teams"] == 0 and c["links"] == 0 for c in q.collaborations(app.sql, pid))
    app.give_consent(w["a"])
    catch_up(app)
    assert q.collaboration_links(app.sql, pid)["cross_unit_links"] == 1


def test_team_changes_follow_in_the_read_model(app):
    w = chain(app)
    catch_up(app)
    app.remove_team_member(w["c"], w["a"], participant_id=w["b"])
    catch_up(app)
    assert q.collaboration_links(app.sql, str(w["pid"]))["joint_records"] == 1
    app.share_record(w["c"], participant_id=w["b"])  # shared already: nothing recorded
    app.join_team(w["c"], participant_id=w["a"])
    catch_up(app)
    assert q.collaboration_links(app.sql, str(w["pid"]))["joint_records"] == 2


def test_a_team_members_words_follow_their_own_consent_in_exports(app):
    """B evaluated A's joint experiment: with B's consent withdrawn, the records export keeps
    A's words of that experiment and leaves out B's (ADR 0004 and 0007)."""
    from uuid import UUID

    from domain.application import record_to_dict

    w = chain(app)
    app.withdraw_consent(w["b"])
    e = app.plan_experiment(w["a"], week=4, aim="A's aim", change="c", prediction="p",
                            measure="m", team=[w["b"]])
    app.start_experiment(e, participant_id=w["a"], week=4)
    app.evaluate_experiment(e, participant_id=w["b"], result="B's result", learning="B's")
    catch_up(app)
    pid = str(w["pid"])
    state = asof.with_consent(asof.state_at(app.sql, pid), asof.current_flags(app.sql, pid))

    def reveal(rid, version):
        return record_to_dict(app.repository.get(UUID(rid), version=version))

    [row] = [r for r in asof.record_rows(state, reveal) if r["id"] == str(e)]
    assert row["aim"] == "A's aim" and row["result"] is None and row["learning"] is None
    app.give_consent(w["b"])
    catch_up(app)
    state = asof.with_consent(asof.state_at(app.sql, pid), asof.current_flags(app.sql, pid))
    [row] = [r for r in asof.record_rows(state, reveal) if r["id"] == str(e)]
    assert row["result"] == "B's result"
