"""Consent and erasure in everything replay shows (docs/adr/0004, issue 6): the as-of state
API, the replay and lineage pages, lineage JSON / PROV-JSON, the page downloads, the
replay CLI and the analysis exports apply the participants' CURRENT flags — also to views
of the past. On SQLite and PostgreSQL (``app`` fixture)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from api_support import World, assert_error_shape, catch_up, flask_app, make_world
from click.testing import CliRunner
from test_privacy_erasure import NAME, SECRETS
from test_privacy_erasure import load as load_erasure_world

from api.cli import cli
from api.privacy_commands import erase_participant
from domain.accounts import issue_token
from domain.deidentify import DROPPED_FIELDS, FREE_TEXT_FIELDS
from projections import asof
from projections.views import ERASED_LABEL

SECRET = "tests: replay consent"


def login(client: Any, role: str = "researcher") -> None:
    from api_support import sign_in

    sign_in(client, role)  # a real session (sessions are checked against the store)


def cli_run(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={"FRAMDRIFT_DATABASE_URL": url,
                                                      "FRAMDRIFT_SECRET_KEY": SECRET})
    assert result.exit_code == 0, (args, result.output)
    return result.output


def outputs(world: Any, url: str, pid: str, cap: str, *, at: int | None = None
            ) -> dict[str, str]:
    """Everything replay shows of the programme (and of the capability's lineage)."""
    client = world.client
    login(client)
    moment = f"?as_of={at}" if at is not None else ""
    page_at = f"&at={at}" if at is not None else ""
    out: dict[str, str] = {}

    def get(name: str, path: str, token: str | None = None) -> None:
        if token:
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        else:
            response = client.get(path)
        assert response.status_code == 200, (name, response.get_data(as_text=True)[:300])
        out[name] = response.get_data(as_text=True)

    for role, token in (("evaluator", world.evaluator), ("researcher", world.researcher)):
        get(f"state {role}", f"/api/v1/programmes/{pid}/state{moment}", token)
        sep = "&" if moment else "?"
        get(f"lineage {role}", f"/api/v1/records/{cap}/lineage{moment}", token)
        get(f"prov {role}", f"/api/v1/records/{cap}/lineage{moment}{sep}format=prov-json",
            token)
    base = f"/replay/{pid}"
    get("page", f"{base}?lanes=unit{page_at}")
    get("page by participant", f"{base}?lanes=participant{page_at}")
    get("page selected", f"{base}?record={cap}{page_at}")
    get("lineage page", f"{base}/records/{cap}?direction=both{page_at}")
    get("lineage page prov", f"{base}/records/{cap}/lineage.prov.json?x=1{page_at}")
    for what, fmt in (("timeline", "csv"), ("timeline", "ndjson"), ("records", "csv"),
                      ("records", "ndjson"), ("lineage", "prov-json")):
        get(f"download {what}.{fmt}", f"{base}/export/{what}.{fmt}?x=1{page_at}")
    get("download records text", f"{base}/export/records.csv?text=1{page_at}")
    until = ("--until", str(at)) if at is not None else ()
    out["cli replay"] = cli_run(url, "replay", "--programme", pid, "--format", "ndjson", *until)
    out["cli replay text"] = cli_run(url, "replay", "--programme", pid, *until)
    for what, extra in (("timeline", ()), ("records", ("--with-text",)), ("lineage", ()),
                        ("timeline", ("--deidentified",)), ("records", ("--deidentified",))):
        out[f"cli export {what} {extra}"] = cli_run(
            url, "export", "--programme", pid, "--what", what, *extra, *until)
    return out


def seen(texts: dict[str, str], needles: list[str]) -> list[tuple[str, str]]:
    return [(name, n) for name, text in texts.items() for n in needles if n in text]


@pytest.fixture
def chain(app):
    """A demo programme, a capability, and a participant (not its author) who wrote
    records in its lineage chain."""
    world = make_world(app, participants=12)
    pid = str(world.programme_id)
    state = asof.state_at(app.sql, pid)
    for cap in (r for r in state.records.values() if r["kind"] == "capability"):
        back = asof.lineage(state, cap["id"], direction="back")
        authors = {state.records[n["id"]]["participant_id"] for n in back["nodes"]}
        others = sorted(authors - {cap["participant_id"]})
        if others:
            person = others[0]
            break
    else:  # pragma: no cover - the demo always has cross-participant chains
        pytest.fail("no capability whose chain has another author")
    records = sorted(rid for rid, r in state.records.items() if r["participant_id"] == person)
    in_chain = sorted({n["id"] for n in back["nodes"]} & set(records))
    return world, pid, cap["id"], person, records, in_chain


def test_withdrawn_consent_leaves_a_chain_author_out_of_replay_and_giving_it_back_restores(
        chain, store_url):
    world, pid, cap, person, records, in_chain = chain
    app = world.app
    pseudonym = app.get_participant(person)["pseudonym"]
    # summaries name records by short id ("based on 1a2b3c4d"): those go too
    needles = [pseudonym, person, *records, *(r[:8] for r in records)]
    at = app.max_position()  # a moment in the past, once consent is withdrawn
    before = outputs(world, store_url, pid, cap)
    for name in ("state evaluator", "lineage researcher", "prov evaluator", "page",
                 "lineage page", "cli replay", "cli export records ('--with-text',)"):
        assert seen({name: before[name]}, in_chain), name
    assert pseudonym in before["page by participant"] and pseudonym in before["cli replay"]
    before_state = world.get(f"/api/v1/programmes/{{pid}}/state?as_of={at}").get_json()

    app.withdraw_consent(person)
    catch_up(app)
    for moment in (None, at):  # now, and as of before the withdrawal
        during = outputs(world, store_url, pid, cap, at=moment)
        assert seen(during, needles) == [], moment
    # the chain keeps everyone else, with no edge to a record left out
    body = world.get(f"/api/v1/records/{cap}/lineage").get_json()
    nodes = {n["id"] for n in body["nodes"]}
    assert cap in nodes and all(e["from"] in nodes and e["to"] in nodes for e in body["edges"])
    state = world.get("/api/v1/programmes/{pid}/state").get_json()
    ids = {n["id"] for n in state["lineage"]["nodes"]}
    assert all(e["from"] in ids and e["to"] in ids for e in state["lineage"]["edges"])
    assert state["participants"] == before_state["participants"]  # a programme fact
    # their records are not found: API (JSON and PROV), pages
    for rid in in_chain:
        assert_error_shape(world.get(f"/api/v1/records/{rid}/lineage"), 404)
        assert_error_shape(world.get(f"/api/v1/records/{rid}/lineage?format=prov-json"), 404)
        assert_error_shape(world.get(f"/api/v1/records/{rid}/lineage?as_of={at}",
                                     world.researcher), 404)
        login(world.client)
        assert world.client.get(f"/replay/{pid}/records/{rid}").status_code == 404
    # they cannot be picked out with a filter
    assert 'data-kind="' not in world.client.get(
        f"/replay/{pid}?participant={pseudonym}").get_data(as_text=True)
    assert cli_run(store_url, "replay", "--programme", pid, "--participant", person,
                   "--format", "ndjson") == ""
    # the events stay
    assert any(str(e.originator_id) == records[0] for _, e in app.iter_log())

    app.give_consent(person)
    catch_up(app)
    after = outputs(world, store_url, pid, cap)
    for name in ("state evaluator", "lineage researcher", "prov evaluator", "page",
                 "lineage page", "cli replay", "cli export records ('--with-text',)"):
        assert seen({name: after[name]}, in_chain), name
    assert pseudonym in after["page by participant"] and pseudonym in after["cli replay"]
    assert world.get(f"/api/v1/programmes/{{pid}}/state?as_of={at}").get_json() == \
        before_state
    assert world.get(f"/api/v1/records/{in_chain[0]}/lineage").status_code == 200


def test_erased_participant_keeps_their_place_as_erased_participant(app, store_url):
    w = load_erasure_world(app)
    catch_up(app)
    pid, z = str(w["pid"]), str(w["z"])
    rids = [str(r) for r in w["records"]]
    pseudonym = app.get_participant(z)["pseudonym"]
    evaluator, _ = issue_token(app, role="evaluator", label="tests: replay erasure")
    researcher, _ = issue_token(app, role="researcher", label="tests: replay erasure")
    flask = flask_app(app)
    world = World(app, flask, flask.test_client(), w["pid"], evaluator, researcher)
    cap = rids[2]
    before = outputs(world, store_url, pid, cap)
    assert pseudonym in before["state evaluator"] and NAME not in before["state evaluator"]
    assert seen({"text": before["download records text"]}, SECRETS)  # before erasure

    erase_participant(app, z)
    app.keys.CACHE_SECONDS = 0.0
    catch_up(app)
    after = outputs(world, store_url, pid, cap)
    leaked = seen(after, [pseudonym, z, *SECRETS])
    assert leaked == [], leaked
    # the records keep their place, under the neutral label
    state = world.get("/api/v1/programmes/{pid}/state").get_json()
    nodes = {n["id"]: n for n in state["lineage"]["nodes"]}
    assert all(nodes[rid]["pseudonym"] == ERASED_LABEL for rid in rids)
    assert {(e["from"], e["to"]) for e in state["lineage"]["edges"]} >= {
        (str(w["other"]), rids[0]), (rids[1], str(w["other"]))}
    lineage = world.get(f"/api/v1/records/{cap}/lineage?direction=back").get_json()
    assert {n["participant"] for n in lineage["nodes"]} == {
        ERASED_LABEL, app.get_participant(w["o"])["pseudonym"]}
    prov = json.loads(after["prov evaluator"])
    assert prov["agent"]["fd:erased-participant"]["prov:label"] == ERASED_LABEL
    assert f"fd:record-{rids[0]}" in prov["entity"]
    for name in ("page", "page by participant", "lineage page"):
        assert ERASED_LABEL in after[name], name
    rows = list(csv.DictReader(io.StringIO(after["download records text"].lstrip("\ufeff"))))
    mine = [r for r in rows if r["id"] in rids]
    assert len(mine) == len(rids)
    assert all(r["participant"] == ERASED_LABEL and r["example"] == r["aim"] == ""
               for r in mine)
    replayed = [json.loads(x) for x in after["cli replay"].splitlines()]
    assert {r["record_id"] for r in replayed} >= set(rids)
    assert z not in {r["record_id"] for r in replayed}  # their own events are left out
    assert ERASED_LABEL in {r["participant"] for r in replayed}
    # an erased participant cannot be picked out
    for who in (pseudonym, z, ERASED_LABEL):
        assert cli_run(store_url, "replay", "--programme", pid, "--participant", who,
                       "--format", "ndjson") == ""
    assert 'data-kind="' not in world.client.get(
        f"/replay/{pid}?participant={ERASED_LABEL}").get_data(as_text=True)


def test_text_never_for_evaluators_or_participants_without_consent(chain):
    world, pid, _cap, person, records, _in_chain = chain
    base = f"/replay/{pid}/export/records.csv?text=1"
    assert_error_shape(world.client.get(base, headers={  # tokens are for /api/v1 only
        "Authorization": f"Bearer {world.evaluator}"}), 401)
    login(world.client, "participant")
    assert world.client.get(base).status_code == 403
    world.app.withdraw_consent(person)
    catch_up(world.app)
    login(world.client)
    rows = list(csv.DictReader(io.StringIO(world.client.get(base).get_data().decode("utf-8-sig"))))
    assert rows and not {r["id"] for r in rows} & set(records)
    assert any(r["example"] for r in rows)  # others' text is still there


def test_deidentified_analysis_exports(chain, store_url):
    world, pid, _cap, _person, _records, _in_chain = chain
    plain = [json.loads(x) for x in cli_run(
        store_url, "export", "--programme", pid, "--what", "records", "--format", "ndjson"
    ).splitlines()]
    shifted = [json.loads(x) for x in cli_run(
        store_url, "export", "--programme", pid, "--what", "records", "--format", "ndjson",
        "--deidentified").splitlines()]
    assert len(plain) == len(shifted)
    by_id = {r["id"]: r for r in plain}
    offsets: dict[str, set[int]] = {}
    for row in shifted:
        assert not set(row) & (FREE_TEXT_FIELDS | DROPPED_FIELDS)
        original = by_id[row["id"]]
        days = (datetime.fromisoformat(row["created_at"])
                - datetime.fromisoformat(original["created_at"]))
        assert days.seconds == 0 and days.days != 0 and row["week"] == original["week"]
        offsets.setdefault(row["participant"], set()).add(days.days)
    assert all(len(v) == 1 for v in offsets.values()) and len(offsets) > 1
    participants = [r["participant"] for r in shifted]
    assert participants == sorted(participants)  # rows sorted per participant
    timeline = list(csv.DictReader(io.StringIO(cli_run(
        store_url, "export", "--programme", pid, "--what", "timeline", "--deidentified"))))
    assert timeline and "summary" not in timeline[0] and "position" not in timeline[0]
    assert all(not r["id"] for r in timeline if r["type"].startswith("Participant."))
    # no secret, no export; not for the lineage; no text
    env = {"FRAMDRIFT_DATABASE_URL": store_url, "FRAMDRIFT_SECRET_KEY": ""}
    for extra in ((), ("--what", "lineage"), ("--what", "records", "--with-text")):
        args = ["export", "--programme", pid, "--what", "timeline", "--deidentified", *extra]
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code != 0 and "Traceback" not in result.output, extra


def test_replay_pages_send_browsers_without_a_session_to_sign_in(app):
    world = make_world(app, participants=3)
    url = f"/replay/{world.programme_id}?at=2026-09-25"
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    for path in (url, "/replay/", f"/replay/{world.programme_id}/export/timeline.csv"):
        response = world.client.get(path, headers=browser)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login" and parse_qs(location.query)["next"] == [path]
    # API clients keep the JSON answers
    assert_error_shape(world.client.get(url), 401)
    for accept in ("application/json", "*/*", "application/json, text/html;q=0.5"):
        assert_error_shape(world.client.get(url, headers={"Accept": accept}), 401)
    assert_error_shape(world.client.get(url, headers={
        **browser, "Authorization": "Bearer fd_nope"}), 401)
    login(world.client, "participant")
    assert_error_shape(world.client.get(url, headers=browser), 403)
    login(world.client)
    assert world.client.get(url, headers=browser).status_code == 200
