"""The read-model endpoints over HTTP (test client), on SQLite and PostgreSQL:
numbers, pagination totals, exports, ETag/304, positions, read-your-writes, readiness."""

from __future__ import annotations

import csv
import io
import json
import threading
import time

import pytest
from api_support import READ_ENDPOINTS, assert_error_shape, catch_up, flask_app, make_world

from projections import queries


@pytest.fixture
def world(app):
    return make_world(app)


def test_programmes_list_and_detail(world):
    body = world.get("/api/v1/programmes").get_json()
    assert body["total"] == len(body["items"]) == 1
    item = body["items"][0]
    assert item["id"] == str(world.programme_id)
    truth = world.app.get_programme(world.programme_id)
    assert item["title"] == truth["title"] and item["organisation"] == truth["organisation"]
    assert [w["number"] for w in item["weeks"]] == [w["number"] for w in truth["weeks"]]
    detail = world.get("/api/v1/programmes/{pid}").get_json()
    assert detail["id"] == str(world.programme_id)


def test_every_response_tells_the_position(world):
    reached = queries.position(world.app.sql)
    assert reached == world.app.max_position()
    for path in READ_ENDPOINTS:
        response = world.get(path)
        assert response.headers["X-Framdrift-Position"] == str(reached)
    assert world.client.get("/api/v1/programmes").headers["X-Framdrift-Position"] == str(reached)


def test_timeline_pagination_totals_and_links(world):
    rows, total = queries.timeline(world.app.sql, str(world.programme_id), limit=1000)
    assert total == len(rows) > 100
    first = world.get("/api/v1/programmes/{pid}/timeline?page_size=40")
    body = first.get_json()
    assert body["total"] == total and body["page"] == 1 and body["page_size"] == 40
    assert body["pages"] == -(-total // 40)
    assert len(body["items"]) == 40
    assert first.headers["X-Total-Count"] == str(total)
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    assert 'rel="prev"' not in first.headers["Link"]
    positions = []
    for page in range(1, body["pages"] + 1):
        items = world.get(f"/api/v1/programmes/{{pid}}/timeline?page_size=40&page={page}"
                          ).get_json()["items"]
        positions += [i["position"] for i in items]
    assert positions == sorted(positions) and len(positions) == len(set(positions)) == total
    beyond = world.get(f"/api/v1/programmes/{{pid}}/timeline?page_size=40&page={body['pages'] + 1}")
    assert beyond.status_code == 200 and beyond.get_json()["items"] == []
    assert all("participant_id" not in i for i in body["items"])  # pseudonyms only


def test_timeline_filters_and_sort(world):
    week2 = world.get("/api/v1/programmes/{pid}/timeline?week=2&page_size=500").get_json()
    assert week2["total"] > 0 and {i["week"] for i in week2["items"]} == {2}
    kind = world.get("/api/v1/programmes/{pid}/timeline?kind=reflection&page_size=500"
                     ).get_json()
    assert kind["total"] > 0 and {i["kind"] for i in kind["items"]} == {"reflection"}
    some = kind["items"][0]
    mine = world.get(f"/api/v1/programmes/{{pid}}/timeline?participant={some['participant']}"
                     f"&page_size=500").get_json()
    assert mine["total"] > 0 and {i["participant"] for i in mine["items"]} == {some["participant"]}
    desc = world.get("/api/v1/programmes/{pid}/timeline?sort=-position&page_size=10"
                     ).get_json()["items"]
    assert [i["position"] for i in desc] == sorted((i["position"] for i in desc), reverse=True)
    times = [i["event_time"] for i in week2["items"]]
    middle = sorted(times)[len(times) // 2]
    later = world.get("/api/v1/programmes/{pid}/timeline", query_string={
        "week": 2, "since": middle, "page_size": 500}).get_json()
    assert 0 < later["total"] < week2["total"]
    assert all(i["event_time"] >= middle for i in later["items"])
    # a unit the programme does not have is not "nothing happened" but a 404 naming it
    none = world.get("/api/v1/programmes/{pid}/timeline?unit=no-such-unit")
    assert none.status_code == 404 and "unit" in none.get_json()["errors"]


def test_timeline_csv_and_ndjson_exports(world):
    total = world.get("/api/v1/programmes/{pid}/timeline").get_json()["total"]
    as_csv = world.get("/api/v1/programmes/{pid}/timeline?format=csv")
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data().decode("utf-8-sig"))))
    assert len(rows) == total == int(as_csv.headers["X-Total-Count"])
    assert {"position", "event_time", "participant", "unit", "week", "summary"} <= set(rows[0])
    by_accept = world.get("/api/v1/programmes/{pid}/timeline",
                          headers={"Accept": "application/x-ndjson"})
    assert by_accept.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in by_accept.get_data(as_text=True).splitlines()]
    assert len(lines) == total
    assert [r["position"] for r in lines] == [int(r["position"]) for r in rows]
    csv_by_accept = world.get("/api/v1/programmes/{pid}/timeline?week=1",
                              headers={"Accept": "text/csv"})
    assert csv_by_accept.mimetype == "text/csv"
    paged = world.get("/api/v1/programmes/{pid}/timeline?format=ndjson&page_size=7&page=2")
    assert len(paged.get_data(as_text=True).splitlines()) == 7


def test_etag_and_304(world):
    for path in READ_ENDPOINTS:
        first = world.get(path)
        etag = first.headers["ETag"]
        assert etag
        again = world.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.get_data() == b""
        assert again.headers["ETag"] == etag
        assert world.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    export = world.get("/api/v1/programmes/{pid}/timeline?format=csv")
    assert world.get("/api/v1/programmes/{pid}/timeline?format=csv",
                     headers={"If-None-Match": export.headers["ETag"]}).status_code == 304


def test_etag_changes_when_the_read_models_move(world):
    path = "/api/v1/programmes/{pid}/timeline?sort=-position&page_size=5"
    etag = world.get(path).headers["ETag"]
    participant = world.participants[0]
    world.app.log_reflection(participant, week=5, example="a synthetic example from practice")
    catch_up(world.app)
    response = world.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag


def test_read_models_answer_with_numbers(world):
    progress = world.get("/api/v1/programmes/{pid}/progress").get_json()
    assert progress["programme_id"] == str(world.programme_id)
    assert [{k: v for k, v in w.items() if not k.endswith("_label")}  # names beside keys
            for w in progress["weeks"]] == queries.progress(world.app.sql, str(world.programme_id))
    logged = world.get("/api/v1/programmes/{pid}/timeline?kind=reflection&page_size=500"
                       ).get_json()["items"]
    logged = [i for i in logged if i["event_type"] == "Reflection.Logged"]
    live = sum(w["reflections"] for w in progress["weeks"])
    withdrawn = sum(w["reflections_withdrawn"] for w in progress["weeks"])
    assert live + withdrawn == len(logged) > 0  # withdrawals move a reflection, not add one
    for name in ("lineage", "development-areas", "engagement", "collaborations", "maturity"):
        body = world.get(f"/api/v1/programmes/{{pid}}/{name}").get_json()
        assert body["programme_id"] == str(world.programme_id), name


def test_read_your_writes_waits_then_answers(world):
    world.flask.config["MIN_POSITION_WAIT"] = 5.0
    participant = world.participants[0]
    world.app.log_reflection(participant, week=5, example="a synthetic example from practice")
    written = world.app.max_position()
    assert queries.position(world.app.sql) < written

    timer = threading.Timer(0.5, catch_up, args=(world.app,))
    timer.start()
    started = time.monotonic()
    try:
        response = world.get(f"/api/v1/programmes/{{pid}}/timeline?min_position={written}"
                             "&sort=-position&page_size=1")
    finally:
        timer.join()
    assert response.status_code == 200, response.get_json()
    assert 0.3 < time.monotonic() - started < 5
    assert int(response.headers["X-Framdrift-Position"]) >= written
    assert response.get_json()["items"][0]["position"] == written


def test_read_your_writes_gives_503_when_not_reached(world):
    world.flask.config["MIN_POSITION_WAIT"] = 0.3
    world.app.log_reflection(world.participants[0], week=5, example="synthetic example")
    written = world.app.max_position()
    response = world.get("/api/v1/programmes", headers={"X-Framdrift-Min-Position": str(written)})
    body = assert_error_shape(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert "min_position" in body["errors"]
    assert int(response.headers["X-Framdrift-Position"]) < written
    catch_up(world.app)
    assert world.get(f"/api/v1/programmes?min_position={written}").status_code == 200


def test_health_and_readiness(app):
    flask = flask_app(app, MAX_LAG=0)
    client = flask.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    make_world(app)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["lag"] == 0
    app.plan_programme(organisation="Synthetic org", title="Synthetic programme")
    lagging = client.get("/readyz")
    body = assert_error_shape_plus(lagging, 503)
    assert "projections" in body["errors"] and body["lag"] == 1
    catch_up(app)
    assert client.get("/readyz").status_code == 200


def test_readiness_fails_without_database(tmp_path):
    from api.app import create_app

    flask = create_app({"TESTING": True, "SECRET_KEY": "t",
                        "DATABASE_URL": f"sqlite:///{tmp_path}/never-migrated.sqlite3"})
    client = flask.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "database" in response.get_json()["errors"]


def assert_error_shape_plus(response, code):
    """/readyz's 503 carries the error shape plus the numbers."""
    assert response.status_code == code
    body = response.get_json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    assert response.mimetype == "application/problem+json"
    return body


def test_docs_and_openapi_are_public(world):
    spec = world.client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in READ_ENDPOINTS:
        assert path.replace("{pid}", "{programme_id}") in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    docs = world.client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"/api/v1/programmes" in docs.data
    # nothing from a CDN: every script and stylesheet is the app's own (test_api_docs.py)
    assert b'src="http' not in docs.data and b'href="http' not in docs.data
    landing = world.client.get("/")
    assert landing.status_code == 200 and b"/api/v1/docs" in landing.data
