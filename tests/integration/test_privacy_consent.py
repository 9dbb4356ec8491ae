"""Consent (docs/adr/0004): while a participant's consent is withdrawn (or was never
given) their records are left out of every read model, API answer and export; the events
stay, and giving consent again brings everything back — no rebuild either way."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

import pytest
from api_support import READ_ENDPOINTS, evaluator_pages, flask_app
from click.testing import CliRunner
from test_projections_demo import fold

from api.cli import cli
from domain.accounts import issue_token
from domain.demo import load_demo
from projections import queries as q
from projections.runner import catch_up, rebuild

CREATED = ("Reflection.Logged", "Decision.Made", "Experiment.Planned", "Capability.Established")


def answers(app: Any, pid: str) -> dict[str, Any]:
    """Every read model's answer for the programme."""
    sql = app.sql
    return {
        "timeline": q.timeline(sql, pid, limit=1000)[0],
        "progress": q.progress(sql, pid),
        "lineage": q.lineage(sql, pid),
        "areas": q.development_areas(sql, pid),
        "engagement": q.engagement(sql, pid),
        "collaborations": q.collaborations(sql, pid),
        "maturity": q.maturity(sql, pid),
    }


def api_texts(app: Any, pid: str) -> dict[str, str]:
    token, _ = issue_token(app, role="evaluator", label="tests: consent")
    client = flask_app(app).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    paths = [p.format(pid=pid) for p in READ_ENDPOINTS]
    paths += [f"/api/v1/programmes/{pid}/timeline?format={f}" for f in ("csv", "ndjson")]
    paths += [f"/api/v1/programmes/{pid}/timeline?page_size=500&page={n}" for n in (1, 2)]
    out = {}
    for path in paths:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        out[path] = response.get_data(as_text=True)
    out.update(evaluator_pages(app, pid))  # and the evaluators' web pages (ADR 0015)
    return out


def exports(url: str, pid: str, tmp_path: Any, *, analysis: bool = False) -> dict[str, str]:
    """The de-identified export; with ``analysis`` the ``export --programme`` ones too."""
    out = {}
    env = {"FRAMDRIFT_DATABASE_URL": url, "FRAMDRIFT_SECRET_KEY": "tests: consent"}
    for what in ("timeline", "records", "lineage") if analysis else ():
        target = tmp_path / f"{what}.export"
        result = CliRunner().invoke(cli, ["export", "--programme", pid, "--what", what,
                                          "--out", str(target)], env=env)
        assert result.exit_code == 0, (what, result.output)
        out[what] = target.read_text()
    target = tmp_path / "deidentified.ndjson"
    result = CliRunner().invoke(cli, ["export", "--what", "timeline", "--format", "ndjson",
                                      "--deidentified", "--programme", pid, "--out",
                                      str(target)], env=env)
    assert result.exit_code == 0, result.output
    out["deidentified"] = target.read_text()
    return out


def visible(texts: dict[str, str], needles: list[str]) -> list[tuple[str, str]]:
    return [(name, n) for name, text in texts.items() for n in needles if n in text]


def expected_funnel(app: Any, pid: str, hidden: set[str]) -> dict[str, Any]:
    """Progress, collaborations and area counts folded from the log without ``hidden``."""
    class Log:  # the programme's aggregates only (not API tokens and such)
        @staticmethod
        def iter_log() -> Any:
            kinds = ("Programme.", "Participant.", "Reflection.", "Decision.", "Experiment.",
                     "Capability.")
            return ((p, e) for p, e in app.iter_log()
                    if type(e).__qualname__.startswith(kinds))

    f = fold(Log)
    records = {k: r for k, r in f["records"].items()
               if r["programme"] == pid and r["participant"] not in hidden}
    progress = Counter()
    pairs = Counter()
    for r in records.values():
        progress[(r["week"], r["kind"], r["void"])] += 1
        if r["kind"] in ("decision", "experiment") and not r["void"]:
            units = sorted(set(r["units"]))
            for i, a in enumerate(units):
                for b in units[i + 1:]:
                    pairs[(r["week"], a, b, r["kind"])] += 1
    return {"progress": progress, "pairs": pairs, "records": set(records)}


def funnel_of(app: Any, pid: str) -> dict[str, Any]:
    progress = Counter()
    for row in q.progress(app.sql, pid):
        for kind, live, void in (("reflection", "reflections", "reflections_withdrawn"),
                                 ("decision", "decisions", "decisions_reversed")):
            if row[live]:
                progress[(row["week"], kind, False)] += row[live]
            if row[void]:
                progress[(row["week"], kind, True)] += row[void]
        for kind, n in (("experiment", row["experiments"]), ("capability", row["capabilities"])):
            if n:
                progress[(row["week"], kind, False)] += n
    pairs = Counter()
    for c in q.collaborations(app.sql, pid):
        for kind in ("decision", "experiment"):
            if c[kind + "s"]:
                pairs[(c["week"], c["unit_a"], c["unit_b"], kind)] = c[kind + "s"]
    records = {n["id"] for n in q.lineage(app.sql, pid)["nodes"]}
    return {"progress": progress, "pairs": pairs, "records": records}


@pytest.fixture
def demo(app):
    result = load_demo(app, seed=3, participants=8)
    catch_up(app)
    pid = result.programme_ids[0]
    authored: dict[str, list[str]] = {}
    for _pos, event in app.iter_log():
        if type(event).__qualname__ in CREATED:
            authored.setdefault(str(event.participant_id), []).append(str(event.originator_id))
    # the participant with the most records, whose records others build on
    person = max(authored, key=lambda p: len(authored[p]))
    return app, str(pid), person, authored[person]


def test_withdrawn_consent_hides_records_everywhere_and_giving_it_again_restores(
        demo, store_url, tmp_path):
    app, pid, person, records = demo
    pseudonym = app.get_participant(person)["pseudonym"]
    needles = [pseudonym, person, *records]
    before = answers(app, pid)
    before_api = api_texts(app, pid)
    assert visible(before_api, needles), "the search cannot see the participant"
    assert visible(exports(store_url, pid, tmp_path), [pseudonym, *records])

    app.withdraw_consent(person)
    catch_up(app)  # no rebuild: the flag is read at query time
    during = answers(app, pid)
    texts = {k: json.dumps(v) for k, v in during.items()}
    assert visible(texts, needles) == []
    assert visible(api_texts(app, pid), needles) == []
    assert visible(exports(store_url, pid, tmp_path), [pseudonym, *records]) == []
    # what is left is exactly what the log says without them
    assert funnel_of(app, pid) == expected_funnel(app, pid, {person})
    # lineage: no edge points at a record that is left out
    nodes = {n["id"] for n in during["lineage"]["nodes"]}
    assert all(e["from"] in nodes and e["to"] in nodes for e in during["lineage"]["edges"])
    with pytest.raises(q.UnknownRecordError):
        q.lineage(app.sql, pid, records[0])
    # areas count only records of consenting participants
    assert sum(a["records"] for a in during["areas"]) < sum(a["records"] for a in before["areas"])
    # programme facts stay
    assert during["maturity"] == before["maturity"]
    assert during["engagement"]["materials_published"] == \
        before["engagement"]["materials_published"]
    assert len(during["engagement"]["participants"]) == \
        len(before["engagement"]["participants"]) - 1
    # the events stay
    assert any(str(e.originator_id) == records[0] for _, e in app.iter_log())

    app.give_consent(person)
    catch_up(app)
    after = answers(app, pid)
    for name in ("progress", "lineage", "areas", "engagement", "collaborations", "maturity"):
        assert after[name] == before[name], name
    # the timeline has everything it had, plus the two consent events
    assert [r for r in after["timeline"] if "Consent" not in r["event_type"]] == \
        [r for r in before["timeline"] if "Consent" not in r["event_type"]]
    assert visible(api_texts(app, pid), needles)
    # and a rebuild from scratch agrees with the incremental read models
    rebuild(app)
    assert answers(app, pid) == after


def test_never_given_consent_counts_as_not_consenting(app):
    pid = app.plan_programme(organisation="Testby", title="Consent", first_day=date(2026, 1, 5),
                             units=[{"key": "u1", "name": "U1"}, {"key": "u2", "name": "U2"}])
    yes = app.enrol_participant(pid, name="Ja", email=None, role="expert", unit="u1",
                                consent=True)
    no = app.enrol_participant(pid, name="Nej", email=None, role="expert", unit="u2")
    r_yes = app.log_reflection(yes, week=1, example="x")
    r_no = app.log_reflection(no, week=1, example="y", shared=True)  # "yes" builds on it
    d = app.make_decision(yes, week=2, statement="s", based_on=[r_no], units=["u1", "u2"])
    app.make_decision(no, week=2, statement="s", units=["u1", "u2"])
    catch_up(app)
    sql, p_no = app.sql, app.get_participant(no)["pseudonym"]
    rows, _ = q.timeline(sql, str(pid), limit=1000)
    assert str(r_no) not in {r["record_id"] for r in rows}
    assert p_no not in json.dumps(rows)
    graph = q.lineage(sql, str(pid))
    assert {n["id"] for n in graph["nodes"]} == {str(r_yes), str(d)}
    assert graph["edges"] == []
    assert [(w["week"], w["reflections"], w["decisions"]) for w in q.progress(sql, str(pid))
            if w["reflections"] or w["decisions"]] == [(1, 1, 0), (2, 0, 1)]
    assert [(c["unit_a"], c["unit_b"], c["decisions"]) for c in q.collaborations(sql, str(pid))
            ] == [("u1", "u2", 1)]
    assert [p["participant"] for p in q.engagement(sql, str(pid))["participants"]] == \
        [app.get_participant(yes)["pseudonym"]]
    app.give_consent(no)
    catch_up(app)
    graph = q.lineage(sql, str(pid))
    assert str(r_no) in {n["id"] for n in graph["nodes"]}
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {(str(d), str(r_no))}
    assert q.collaborations(sql, str(pid))[0]["decisions"] == 2


def test_analysis_exports_leave_out_participants_without_consent(demo, store_url, tmp_path):
    app, pid, person, records = demo
    pseudonym = app.get_participant(person)["pseudonym"]
    assert visible(exports(store_url, pid, tmp_path, analysis=True), [pseudonym, *records])
    app.withdraw_consent(person)
    catch_up(app)
    leaked = visible(exports(store_url, pid, tmp_path, analysis=True), [pseudonym, *records])
    assert leaked == [], sorted({name for name, _ in leaked})
