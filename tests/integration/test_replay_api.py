"""The as-of state and lineage in the JSON API, PROV-JSON validity, and the replay pages."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from api_support import assert_error_shape, make_world

from projections import asof

PROV_SCHEMA = next(Path(__file__).resolve().parents[2].glob(
    ".venv/lib/python3.*/site-packages/prov/tests/schemas/prov-json.schema.json"))


@pytest.fixture
def world(app):
    return make_world(app, participants=30)


def capability_of(world) -> str:
    state = asof.state_at(world.app.sql, world.programme_id)
    return next(r["id"] for r in state.records.values() if r["kind"] == "capability")


def login(client, role: str = "researcher") -> None:
    from api_support import sign_in

    sign_in(client, role)  # a real session (sessions are checked against the store)


def test_state_as_of_for_evaluators_and_researchers(world):
    for token in (world.evaluator, world.researcher):
        body = world.get("/api/v1/programmes/{pid}/state?as_of=2026-09-25", token).get_json()
        kinds = {n["kind"] for n in body["lineage"]["nodes"]}
        assert "capability" not in kinds and {"reflection", "decision"} <= kinds
        assert all(n["week"] <= 3 for n in body["lineage"]["nodes"])
        assert body["time"] <= "2026-09-25T23:59:59.999999+00:00"
        assert sum(w["capabilities"] for w in body["progress"]) == 0
        assert "name" not in json.dumps(body["lineage"])  # pseudonyms only
    now = world.get("/api/v1/programmes/{pid}/state").get_json()
    assert sum(w["capabilities"] for w in now["progress"]) > 0
    by_position = world.get(f"/api/v1/programmes/{{pid}}/state?as_of={body['as_of']}")
    assert by_position.get_json() == body
    assert by_position.headers["X-Framdrift-Position"]


def test_errors_have_the_api_shape(world):
    assert_error_shape(world.get("/api/v1/programmes/{pid}/state?as_of=soon"), 422)
    assert_error_shape(world.client.get(f"/api/v1/programmes/{world.programme_id}/state"), 401)
    assert_error_shape(world.get(
        "/api/v1/programmes/00000000-0000-0000-0000-000000000001/state"), 404)
    assert_error_shape(world.get(
        "/api/v1/records/00000000-0000-0000-0000-000000000001/lineage"), 404)
    assert_error_shape(world.get(f"/api/v1/records/{capability_of(world)}/lineage?"
                                 "direction=sideways"), 422)
    paths = world.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/programmes/{programme_id}/state" in paths
    assert "/api/v1/records/{record_id}/lineage" in paths


def test_lineage_walks_a_capability_back_to_week_one_reflections(world):
    cap = capability_of(world)
    body = world.get(f"/api/v1/records/{cap}/lineage?direction=back").get_json()
    kinds = {n["kind"] for n in body["nodes"]}
    assert kinds == {"reflection", "decision", "experiment", "capability"}
    assert all(n["depth"] <= 0 for n in body["nodes"])
    reflections = [n for n in body["nodes"] if n["kind"] == "reflection"]
    assert any(n["week"] == 1 for n in reflections)
    forward = world.get(f"/api/v1/records/{reflections[0]['id']}/lineage?direction=forward")
    assert cap in {n["id"] for n in forward.get_json()["nodes"]}


def test_prov_json_export_validates_against_the_schema(world):
    schema = json.loads(PROV_SCHEMA.read_text())
    cap = capability_of(world)
    doc = world.get(f"/api/v1/records/{cap}/lineage?format=prov-json").get_json()
    jsonschema.Draft4Validator(schema).validate(doc)
    assert doc["wasDerivedFrom"] and doc["wasGeneratedBy"] and doc["wasAssociatedWith"]
    assert doc["wasAttributedTo"] and doc["agent"]
    assert any(a["prov:type"] == "prov:Person" for a in doc["agent"].values())
    login(world.client)
    whole = world.client.get(f"/replay/{world.programme_id}/export/lineage.prov-json")
    assert whole.status_code == 200
    jsonschema.Draft4Validator(schema).validate(json.loads(whole.data))


def test_timeline_since_until_filters(world):
    body = world.get("/api/v1/programmes/{pid}/timeline?since=2026-09-14T00:00:00Z"
                     "&until=2026-09-18T23:59:59Z&page_size=500").get_json()
    assert body["total"] > 0
    assert all("2026-09-14" <= i["event_time"][:10] <= "2026-09-18" for i in body["items"])


def test_replay_pages_for_researchers_only(world):
    url = f"/replay/{world.programme_id}"
    assert world.client.get(url).status_code == 401
    login(world.client, "participant")
    assert world.client.get(url).status_code == 403
    login(world.client)
    page = world.client.get(url + "?at=2026-09-25&unit=it")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-kind="capability"' not in html and 'data-week="4"' not in html
    assert "style=" not in html and "<script>" not in html
    full = world.client.get(url + "?lanes=participant").get_data(as_text=True)
    assert 'data-kind="capability"' in full
    cap = capability_of(world)
    lineage = world.client.get(f"{url}/records/{cap}?direction=back")
    assert lineage.status_code == 200 and 'data-week="1"' in lineage.get_data(as_text=True)
    assert world.client.get(url + "?at=whenever").status_code == 422
    assert world.client.get("/replay/").status_code == 200


def test_exports_from_the_page(world):
    login(world.client)
    base = f"/replay/{world.programme_id}/export"
    timeline = world.client.get(f"{base}/timeline.csv?at=2026-09-25")
    rows = list(csv.DictReader(io.StringIO(timeline.get_data().decode("utf-8-sig"))))
    assert rows and all(r["time"] <= "2026-09-25T23:59:59.999999+00:00" for r in rows)
    records = world.client.get(f"{base}/records.ndjson").get_data(as_text=True).splitlines()
    first = json.loads(records[0])
    assert "example" not in first and first["participant"].startswith("P-")
    with_text = world.client.get(f"{base}/records.csv?text=1").get_data(as_text=True)
    assert "example" in with_text.splitlines()[0]
    # an erased participant's text is never exported
    state = asof.state_at(world.app.sql, world.programme_id)
    victim = next(r for r in state.records.values() if r["kind"] == "reflection")
    world.app.erase_participant(victim["participant_id"])
    from api_support import catch_up

    catch_up(world.app)
    rows = list(csv.DictReader(io.StringIO(
        world.client.get(f"{base}/records.csv?text=1").get_data().decode("utf-8-sig"))))
    row = next(r for r in rows if r["id"] == victim["id"])
    assert row["example"] == ""
    assert world.client.get(f"{base}/records.ods").status_code == 404
