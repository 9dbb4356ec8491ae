"""One error shape for every error; domain errors mapped; never a 5xx for bad input."""

from __future__ import annotations

import uuid

import pytest
from api_support import assert_error_shape, flask_app, make_world
from flask_smorest import abort

from domain import errors


@pytest.fixture
def world(app):
    return make_world(app)


def test_unknown_url_is_json_404(world):
    assert_error_shape(world.get("/api/v1/no-such-thing"), 404)
    assert_error_shape(world.client.get("/no-such-page"), 404)


def test_unknown_programme_is_404_with_field(world):
    for path in ("/api/v1/programmes/{pid}", "/api/v1/programmes/{pid}/timeline",
                 "/api/v1/programmes/{pid}/progress", "/api/v1/programmes/{pid}/maturity",
                 "/api/v1/programmes/{pid}/lineage", "/api/v1/programmes/{pid}/engagement",
                 "/api/v1/programmes/{pid}/development-areas",
                 "/api/v1/programmes/{pid}/collaborations"):
        response = world.get(path.replace("{pid}", str(uuid.uuid4())))
        body = assert_error_shape(response, 404)
        assert "programme_id" in body["errors"], (path, body)


def test_malformed_programme_id_is_404(world):
    assert_error_shape(world.get("/api/v1/programmes/not-a-uuid/timeline"), 404)


def test_wrong_method_is_405_with_allow(world):
    response = world.client.post("/api/v1/programmes", headers=world.headers())
    assert_error_shape(response, 405)
    assert "GET" in response.headers["Allow"]
    assert_error_shape(world.client.delete(f"/api/v1/programmes/{world.programme_id}",
                                           headers=world.headers()), 405)


@pytest.mark.parametrize(("query", "field"), [
    ("page=0", "page"),
    ("page=abc", "page"),
    ("page_size=100000", "page_size"),
    ("page=99999999999999999999999", "page"),
    ("week=0", "week"),
    ("week=x", "week"),
    ("since=yesterday", "since"),
    ("until=2026-13-40T00:00:00", "until"),
    ("sort=name", "sort"),
    ("format=xml", "format"),
    ("participant=%00", "participant"),
    ("unit=" + "u" * 500, "unit"),
    ("min_position=-1", "min_position"),
    ("min_position=999999999", "min_position"),
])
def test_bad_query_is_422_per_field(world, query, field):
    response = world.get(f"/api/v1/programmes/{{pid}}/timeline?{query}")
    body = assert_error_shape(response, 422)
    assert field in body["errors"], body


def test_bad_min_position_header_is_422(world):
    response = world.get("/api/v1/programmes",
                         headers={"X-Framdrift-Min-Position": "soon"})
    body = assert_error_shape(response, 422)
    assert "X-Framdrift-Min-Position" in body["errors"]


def test_bad_record_id_is_422(world):
    body = assert_error_shape(world.get("/api/v1/programmes/{pid}/lineage?record_id=x"), 422)
    assert "record_id" in body["errors"]


@pytest.mark.parametrize(("exc", "code", "field"), [
    (errors.ProgrammeNotFoundError("no such programme"), 404, "programme_id"),
    (errors.ConcurrentChangeError("changed meanwhile"), 409, "version"),
    (errors.InvalidValueError("must not be empty", field="title"), 422, "title"),
    (errors.LifecycleError("not started"), 422, "stage"),
    (errors.DomainError("broken rule"), 422, "_request"),
])
def test_domain_errors_are_mapped(app, exc, code, field):
    flask = flask_app(app)

    @flask.get("/api/v1/_test/raise")
    def _raise():
        raise exc

    body = assert_error_shape(flask.test_client().get("/api/v1/_test/raise"), code)
    assert body["errors"] == {field: [exc.message]}
    assert body["message"] == exc.message


@pytest.mark.parametrize("code", [400, 401, 403, 406, 409, 413, 415, 429, 503])
def test_http_errors_share_the_shape(app, code):
    flask = flask_app(app)

    @flask.get("/api/v1/_test/abort")
    def _abort():
        abort(code)

    assert_error_shape(flask.test_client().get("/api/v1/_test/abort"), code)


def test_too_large_body_is_413(app):
    flask = flask_app(app, MAX_CONTENT_LENGTH=10)

    @flask.post("/api/v1/_test/upload")
    def _upload():
        from flask import request

        return {"size": len(request.get_data())}

    response = flask.test_client().post("/api/v1/_test/upload", data=b"x" * 100)
    assert_error_shape(response, 413)


def test_unexpected_exception_is_500_without_details(app):
    flask = flask_app(app)

    @flask.get("/api/v1/_test/boom")
    def _boom():
        raise RuntimeError("secret internals")

    body = assert_error_shape(flask.test_client().get("/api/v1/_test/boom"), 500)
    assert "secret internals" not in body["message"]
