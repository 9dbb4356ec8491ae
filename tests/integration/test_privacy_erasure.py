"""Erasure (`framdrift participants erase`): from then on a participant's name, contact
details and written text are unreadable everywhere — every table of the database, the
read models, backups, exports, API answers — while their records keep their place as
"erased participant", and the log still verifies (docs/adr/0004)."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

from api_support import READ_ENDPOINTS, evaluator_pages, flask_app
from click.testing import CliRunner
from test_core_privacy import encodings, stored_blobs

from api.cli import cli
from domain.accounts import issue_token
from domain.application import Framdrift
from domain.privacy import ERASED, KEY_TABLE
from domain.store import parse_database_url
from projections import queries as q
from projections.runner import catch_up
from projections.views import ERASED_LABEL
from tests.conftest import migrate_all

NAME = "Zlatana Qvarnström-Ekholm"
EMAIL = "zlatana.qvx41@exempelby.example"
TEXTS = {
    "example": "Kvittoflödet i Ödegårdens hemtjänst dubbelregistreras xq7",
    "deficiency": "Brist: ingen äger masterdatan zz9",
    "solutions": "Lösning: en gemensam dataplattform pp2",
    "amended": "Omskrivet exempel om hemtjänstens kvitton am4",
    "aim": "Syfte: halvera dubbelregistreringen ai8",
    "change": "Förändring: en inmatning per kvitto ch5",
    "prediction": "Förutsägelse: färre fel pr6",
    "measure": "Mått: antal rättelser per vecka me1",
    "observation": "Observation: personalen sparar tid ob3",
    "result": "Resultat: 40 procent färre rättelser re2",
    "learning": "Lärdom: ägarskap först le9",
    "capability": "Förmåga: masterdataförvaltning ca7",
    "description": "Beskrivning av förmågan de5",
    "note": "Tillämpad i bostadsbolaget no4",
    "statement": "Beslut: vi tolkar regeln om datadelning på nytt kk3",
    "reason": "Skäl för att ändra sig wq5",
}
SECRETS = [NAME, EMAIL, *TEXTS.values()]
OTHER_TEXT = "Someone else's decision, built on the erased reflection ot1"


def load(app: Framdrift) -> dict[str, Any]:
    """A small programme: Z (to be erased) and O, whose decision builds on Z's reflection."""
    t = TEXTS
    pid = app.plan_programme(organisation="Exempelby kommun", title="Erasure",
                             first_day=date(2026, 9, 7),
                             units=[{"key": "soc", "name": "Socialtjänsten"},
                                    {"key": "bo", "name": "Bostadsbolaget"}])
    area = app.identify_development_area(pid, name="Definition och mål")
    material = app.publish_material(pid, week=1, kind="film", title="Film 1")
    check_in = app.hold_check_in(pid, week=1, held_on=date(2026, 9, 9))
    z = app.enrol_participant(pid, name=NAME, email=EMAIL, role="manager", unit="soc",
                              consent=True)
    o = app.enrol_participant(pid, name="Olle Annan", email="olle@example.org", role="expert",
                              unit="bo", consent=True)
    app.record_material_taken_part_of(z, material)
    app.record_attendance(z, check_in)
    r = app.log_reflection(z, week=1, material_id=material, example=t["example"],
                           deficiency=t["deficiency"], solutions=t["solutions"],
                           development_areas=[area], shared=True)  # O builds on it
    app.amend_reflection(r, example=t["amended"], development_areas=[area])
    d = app.make_decision(o, week=2, statement=OTHER_TEXT, based_on=[r], units=["soc", "bo"],
                          shared=True)
    e = app.plan_experiment(z, week=2, aim=t["aim"], change=t["change"],
                            prediction=t["prediction"], measure=t["measure"], based_on=[d],
                            units=["soc", "bo"], development_areas=[area])
    app.start_experiment(e, week=3)
    app.record_observation(e, text=t["observation"])
    app.evaluate_experiment(e, result=t["result"], learning=t["learning"])
    app.conclude_experiment(e, outcome="adopt")
    c = app.establish_capability(z, week=4, name=t["capability"], description=t["description"],
                                 experiments=[e], units=["soc"])
    app.apply_capability(c, unit="bo", note=t["note"])
    d2 = app.make_decision(z, week=3, statement=t["statement"])
    app.reverse_decision(d2, reason=t["reason"])
    return {"pid": pid, "z": z, "o": o, "records": [r, e, c, d2], "other": d}


def leaks(blobs: list[bytes]) -> list[str]:
    return [s for s in SECRETS if any(f in b for b in blobs for f in encodings(s))]


def run(url: str, *args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(cli, list(args), env={"FRAMDRIFT_DATABASE_URL": url},
                                input=input, catch_exceptions=False)
    return result


def api_answers(app: Framdrift, pid: Any) -> dict[str, str]:
    token, _ = issue_token(app, role="evaluator", label="tests: erasure")
    client = flask_app(app).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    out = {}
    for path in READ_ENDPOINTS:
        path = path.format(pid=pid)
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        out[path] = response.get_data(as_text=True)
    for fmt in ("csv", "ndjson"):
        response = client.get(f"/api/v1/programmes/{pid}/timeline?format={fmt}",
                              headers=headers)
        assert response.status_code == 200
        out[fmt] = response.get_data(as_text=True)
    out.update(evaluator_pages(app, pid))  # and the evaluators' web pages (ADR 0015)
    return out


def sqlite_files(url: str) -> list[bytes]:
    db = Path(parse_database_url(url).env["SQLITE_DBNAME"])
    return [p.read_bytes() for p in db.parent.glob(db.name + "*")]


def test_erase_makes_everything_unreadable_and_verify_still_passes(app, store_url, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("FRAMDRIFT_SECRET_KEY", "tests: de-identification secret")
    w = load(app)
    pid, z = w["pid"], str(w["z"])
    pseudonym = app.get_participant(z)["pseudonym"]
    key = app.keys.key_for(w["z"])
    assert key is not None
    catch_up(app)
    # the claim of views.py: no read model holds personal text, even before erasure
    assert leaks(stored_blobs(app, store_url)) == []
    assert pseudonym in api_answers(app, pid)[f"/api/v1/programmes/{pid}/lineage"]

    # confirmation: without --yes, answering "n" changes nothing
    refused = run(store_url, "participants", "erase", z, input="n\n")
    assert refused.exit_code != 0 and "Erase participant" in refused.output
    assert app.get_participant(z)["erased"] is False
    erased = run(store_url, "participants", "erase", z, "--yes")
    assert erased.exit_code == 0, erased.output
    assert "erased" in erased.output and NAME not in erased.output
    # another process erased: this process's key cache forgets within CACHE_SECONDS
    app.keys.CACHE_SECONDS = 0.0
    catch_up(app)

    # the domain: nothing personal is readable; the events are all still there
    person = app.get_participant(z)
    assert (person["name"], person["email"], person["erased"]) == (ERASED, ERASED, True)
    for rid in w["records"]:
        record = json.dumps(app.get_record(rid), ensure_ascii=False)
        assert leaks([record.encode()]) == [], record
    assert app.get_record(w["other"])["statement"] == OTHER_TEXT  # others are untouched

    # the whole database: every table, every text/bytea column, the SQLite files
    blobs = stored_blobs(app, store_url)
    assert leaks(blobs) == []
    assert not app.sql.query(f"SELECT 1 AS x FROM {app.sql.table(KEY_TABLE)} "
                             "WHERE subject_id = ?", (z,))
    if not app.config.is_postgres:  # the deleted key is overwritten, not just unlinked
        assert not any(key in blob for blob in sqlite_files(store_url))

    # read models: the records keep their place, under a neutral label
    graph = q.lineage(app.sql, pid)
    nodes = {n["id"]: n for n in graph["nodes"]}
    for rid in w["records"]:
        assert nodes[str(rid)]["participant"] == ERASED_LABEL
    assert {(e["from"], e["to"]) for e in graph["edges"]} >= {
        (str(w["other"]), str(w["records"][0])), (str(w["records"][1]), str(w["other"]))}
    rows, _ = q.timeline(app.sql, pid, limit=1000)
    assert pseudonym not in json.dumps(rows)
    assert {r["record_id"] for r in rows} >= {str(rid) for rid in w["records"]}
    assert q.timeline(app.sql, pid, participant=pseudonym)[1] == 0
    assert q.timeline(app.sql, pid, participant=z)[1] == 0
    eng = q.engagement(app.sql, pid)
    assert {p["participant"] for p in eng["participants"]} == \
        {ERASED_LABEL, app.get_participant(w["o"])["pseudonym"]}

    # API answers (evaluator): no personal text, no pseudonym of the erased participant
    for path, body in api_answers(app, pid).items():
        assert leaks([body.encode()]) == [], path
        assert pseudonym not in body, path
        assert z not in body, path

    # exports: the backup (its keys file has no key for the erased participant), the
    # analysis exports, the de-identified export and the log
    backup = tmp_path / "backup"
    assert run(store_url, "export", "--all", "--out", str(backup)).exit_code == 0
    keys = [json.loads(line) for line in (backup / "keys.ndjson").read_text().splitlines()]
    assert z not in {k["subject_id"] for k in keys if "data_key" in k}
    assert z in {k["subject_id"] for k in keys if "erased_at" in k}
    assert base64.b64encode(key).decode() not in (backup / "keys.ndjson").read_text()
    outputs = [(backup / "events.ndjson").read_bytes()]
    for what, extra in (("timeline", ()), ("records", ("--with-text",)), ("lineage", ())):
        target = tmp_path / f"{what}.out"
        result = run(store_url, "export", "--programme", str(pid), "--what", what,
                     "--out", str(target), *extra)
        assert result.exit_code == 0, (what, result.output)
        outputs.append(target.read_bytes())
    target = tmp_path / "deidentified.ndjson"
    result = run(store_url, "export", "--what", "timeline", "--format", "ndjson", "--deidentified",
               "--programme", str(pid), "--out", str(target))
    assert result.exit_code == 0, result.output
    outputs.append(target.read_bytes())
    outputs.append(run(store_url, "log", "--format", "ndjson").output.encode())
    assert leaks(outputs) == []
    # the backup restores to a store where the erased participant stays erased
    restored_url = f"sqlite:///{tmp_path}/restored.sqlite3"
    migrate_all(restored_url)
    assert run(restored_url, "import", str(backup)).exit_code == 0
    restored = Framdrift.from_url(restored_url)
    try:
        assert restored.get_participant(z)["name"] == ERASED
        assert restored.get_record(w["other"])["statement"] == OTHER_TEXT
    finally:
        restored.close()

    # the hash chain covers the stored bytes, which erasure does not touch
    result = run(store_url, "verify")
    assert result.exit_code == 0 and "\nok: " in result.output, result.output
    # erasing again is harmless; erasing nobody is a clear error
    assert "already erased" in run(store_url, "participants", "erase", z, "--yes").output
    missing = run(store_url, "participants", "erase", "not-an-id", "--yes")
    assert missing.exit_code != 0 and "Traceback" not in missing.output


def test_two_erasures_of_one_person_at_once_both_finish_the_erasure(app, monkeypatch):
    """A second click on "erase", or two researchers at once: both load the participant
    before either has saved, so one save conflicts. It does the (idempotent) steps again
    instead of failing: both answer as erased, one Erased event, key gone, links revoked."""
    import threading

    from api.privacy_commands import erase_participant
    from domain.accounts import issue_link, list_links
    from domain.context import acting_as
    from domain.model import Participant
    from tests.integration.test_core_app import setup_programme
    from tests.threads import run_in_threads

    w = setup_programme(app)
    ada = w["ada"]
    issue_link(app, role="participant", subject=ada)
    both_loaded = threading.Barrier(2)
    first_loads: set[int] = set()
    real_get = app._get

    def get(cls, aggregate_id, error):
        found = real_get(cls, aggregate_id, error)
        me = threading.get_ident()
        if cls is Participant and me not in first_loads:
            first_loads.add(me)
            both_loaded.wait(10)  # each thread's first load happens before either saves
        return found

    app._get = get
    import api.privacy_commands as commands

    tries: list[int] = []
    real_steps = commands._erase_steps

    def steps(app_, participant_id):
        tries.append(1)
        return real_steps(app_, participant_id)

    monkeypatch.setattr(commands, "_erase_steps", steps)

    def erase():
        with acting_as("researcher:tests"):
            return erase_participant(app, str(ada))

    outcomes = run_in_threads([erase, erase])
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert len(tries) >= 3  # both loaded the same version: one save conflicted, was redone
    assert all(result["id"] == str(ada) for _, result in outcomes)
    erased = [e for _, e in app.iter_log() if isinstance(e, Participant.Erased)
              and e.originator_id == ada]
    assert len(erased) == 1
    assert app.get_participant(ada)["erased"]
    app.keys.forget_cache()
    assert app.keys.key_for(ada) is None  # the key is deleted
    links = list_links(app, ada)
    assert links and all(link.revoked for link in links)
