"""Hostile input to the read-only JSON API gives 4xx in the one JSON error shape, never a
5xx: writes (405), oversized bodies (413), wrong content types and malformed JSON (the
API takes no bodies, so 405 first), huge query strings (414), NUL bytes (422), invalid
UTF-8 and encoded lone surrogates (400)."""

from __future__ import annotations

import pytest
from api_support import assert_error_shape, flask_app, make_world


@pytest.fixture
def world(app):
    return make_world(app, participants=4)


BODIES = [
    (b'{"a": 1}', "application/json"),
    (b"{not json", "application/json"),
    (b"<a/>", "application/xml"),
    ('{"t": "\\ud800 \\u0000 \u202e"}'.encode(), "application/json; charset=utf-8"),
    (b"x" * (2 * 1024 * 1024), "application/octet-stream"),
]


def test_writes_are_405_whatever_the_body(world):
    for method in ("post", "put", "patch", "delete"):
        for body, content_type in BODIES:
            response = getattr(world.client, method)(
                f"/api/v1/programmes/{world.programme_id}/timeline",
                headers=world.headers(), data=body, content_type=content_type)
            assert_error_shape(response, 405)
            assert "GET" in response.headers["Allow"]


def test_oversized_and_mistyped_bodies_on_a_body_route(app):
    flask = flask_app(app, MAX_CONTENT_LENGTH=1024, WTF_CSRF_ENABLED=False)  # a test route

    @flask.post("/api/v1/_test/echo")
    def _echo():
        from flask import abort, request

        if not request.is_json:
            abort(415)
        return {"keys": sorted(request.get_json())}

    client = flask.test_client()
    assert_error_shape(client.post("/api/v1/_test/echo", data=b"x" * 4096,
                                   content_type="application/json"), 413)
    assert_error_shape(client.post("/api/v1/_test/echo", data=b"a=1",
                                   content_type="text/plain"), 415)
    assert_error_shape(client.post("/api/v1/_test/echo", data=b"{not json",
                                   content_type="application/json"), 400)
    assert client.post("/api/v1/_test/echo", json={"b": 1, "a": 2}).get_json() == \
        {"keys": ["a", "b"]}


QUERIES = [
    ("unit=" + "u" * 9000, 414),
    ("&".join(f"x{i}=1" for i in range(3000)), 414),
    ("unit=a%00b", 422),
    ("participant=%00", 422),
    ("since=2026%00", 422),
    ("unit=%ED%A0%80", 400),  # a lone surrogate, UTF-8 encoded
    ("participant=%FF%FE", 400),  # not UTF-8 at all
    ("sort=%C0%AF", 400),  # overlong encoding
    ("week=99999999999999999999999", 422),
    ("participant=%E2%80%AEP-abc", 200),  # odd but valid unicode: just no match
]


def test_hostile_query_strings_are_4xx(world):
    for query, code in QUERIES:
        for path in ("/api/v1/programmes/{pid}/timeline", "/api/v1/programmes/{pid}/lineage"):
            response = world.get(f"{path}?{query}")
            if code == 200 or (code == 422 and "lineage" in path):
                assert response.status_code < 500, (query, response.get_data(as_text=True))
                continue
            assert_error_shape(response, code)


def test_hostile_headers_are_4xx(world):
    for headers in ({"Authorization": "Bearer fd_\x00"}, {"Authorization": "Bearer fd_é"},
                    {"Authorization": "Basic " + "A" * 5000}):
        assert_error_shape(world.client.get("/api/v1/programmes", headers=headers), 401)
    assert_error_shape(world.get("/api/v1/programmes",
                                 headers={"X-Framdrift-Min-Position": "1\x00"}), 422)
    assert world.get("/api/v1/programmes/{pid}/timeline",
                     headers={"Accept": "text/csv;q=\x00, */*"}).status_code == 200
