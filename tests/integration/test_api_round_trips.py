"""How many times an evaluator's API request goes to the database (issue 14, ADR 0023).

Pinned on both stores with :func:`domain.storecalls.counting`: a request's fixed work
(the token check; the read models' position and the programme's version, read together
for the ETag) and the answer's own reads. Each figure was 10 to 17 before ADR 0023
(a BEGIN and a ROLLBACK around every read, the position read three times, the programme
checked apart from its query). psycopg's own prepares and deallocates (once per
statement and pooled connection) are not counted: they depend on which connection a
request gets.
"""

from __future__ import annotations

import pytest

from domain.storecalls import counting
from tests.integration.api_support import make_world

# path -> (round trips of a 200, of a 304 to If-None-Match with its ETag)
EXPECTED = {
    "/api/v1/programmes/{pid}/progress": (3, 2),
    "/api/v1/programmes/{pid}": (3, 2),
    "/api/v1/programmes/{pid}/timeline": (6, 2),
    "/api/v1/programmes": (8, 2),
}


@pytest.fixture
def world(app):
    return make_world(app, participants=4)


@pytest.mark.parametrize("path", list(EXPECTED))
def test_round_trips_of_an_answer_and_of_a_304(world, path):
    first = world.get(path)  # warm: the token and names in the process's caches
    assert first.status_code == 200, first.get_json()
    answer_trips, not_modified_trips = EXPECTED[path]

    world.flask.extensions.pop("framdrift_answers", None)  # computed, not kept (ADR 0026)
    with counting(world.app) as trips:
        again = world.get(path)
    assert again.status_code == 200
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert trips.round_trips == answer_trips, str(trips)

    with counting(world.app) as trips:
        cached = world.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert cached.status_code == 304
    assert trips.round_trips == not_modified_trips, str(trips)


def test_a_304_does_not_compute_the_answer(world, monkeypatch):
    """The query behind /progress is not called for a matching If-None-Match."""
    from projections import queries

    path = "/api/v1/programmes/{pid}/progress"
    etag = world.get(path).headers["ETag"]
    calls = []
    real = queries.progress
    monkeypatch.setattr(queries, "progress", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert world.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert calls == []
    world.flask.extensions.pop("framdrift_answers")  # the 200 above is kept (ADR 0026)
    assert world.get(path).status_code == 200
    assert len(calls) == 1


def test_a_kept_answer_costs_what_a_304_does(world):
    """/progress answered again with the same ETag: token and state, not the query."""
    path = "/api/v1/programmes/{pid}/progress"
    first = world.get(path)
    with counting(world.app) as trips:
        again = world.get(path)
    assert again.status_code == 200 and again.data == first.data
    assert trips.round_trips == EXPECTED[path][1], str(trips)


@pytest.mark.parametrize("path", [
    "/api/v1/programmes/00000000-0000-4000-8000-000000000000/progress",
    "/api/v1/programmes/00000000-0000-4000-8000-000000000000",
    "/api/v1/programmes/00000000-0000-4000-8000-000000000000/timeline",
])
def test_an_unknown_programme_is_still_404_with_the_field(world, path):
    answer = world.get(path)
    assert answer.status_code == 404
    assert "programme_id" in answer.get_json()["errors"]


def test_a_programme_with_nothing_yet_reads_as_before(app):
    """The folded queries' row of NULLs (a programme with no participants and no
    records) gives no week None and a participant count of 0."""
    from domain.accounts import issue_token
    from tests.integration.api_support import catch_up, flask_app

    pid = app.plan_programme(title="Tom kurs", organisation="Kommun")
    token, _ = issue_token(app, role="evaluator", label="tests")
    catch_up(app)
    client = flask_app(app).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    progress = client.get(f"/api/v1/programmes/{pid}/progress", headers=headers)
    assert progress.status_code == 200, progress.get_json()
    assert all(w["week"] is not None for w in progress.get_json()["weeks"])
    one = client.get(f"/api/v1/programmes/{pid}", headers=headers)
    assert one.status_code == 200, one.get_json()
    body = one.get_json()
    assert body["participants"] == 0
    assert [w["number"] for w in body["weeks"]] == sorted(w["number"] for w in body["weeks"])
    timeline = client.get(f"/api/v1/programmes/{pid}/timeline", headers=headers)
    assert timeline.status_code == 200
    assert timeline.get_json()["total"] == len(timeline.get_json()["items"]) >= 1
