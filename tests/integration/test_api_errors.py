"""One error shape for every error; domain errors mapped; never a 5xx for bad input."""

from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest
from api_support import (
    assert_error_shape,
    assert_problem,
    catch_up,
    flask_app,
    make_world,
    sign_in,
)
from click.testing import CliRunner
from flask_smorest import abort
from werkzeug.serving import make_server

from api.errors import ApiErrorRequestHandler
from domain import errors

# Digits that str.isdigit() takes and int() refuses, or that int() takes and a log
# position is not written with.
UNICODE_DIGITS = ["²", "①", "12³", "١٢", "۳", "𝟘", "٠٠", "1_0", "৪২"]


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


@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/programmes/not-a-uuid/timeline", "programme_id"),
    ("/api/v1/programmes/not-a-uuid/progress", "programme_id"),
    ("/api/v1/programmes/not-a-uuid", "programme_id"),
    ("/api/v1/programmes/0123456789abcdef0123456789abcdef/state", "programme_id"),
    ("/api/v1/records/xyz/lineage", "record_id"),
])
def test_malformed_programme_id_is_404(world, path, field):
    """A malformed id in the path is a 404 naming the parameter, as a well-formed unknown
    id is (routing found no route for it, which named nothing)."""
    body = assert_error_shape(world.get(path), 404)
    assert body["errors"] == {field: ["not a valid id (a UUID)"]}, body
    assert field in body["detail"]
    # an address that is no route whatever its id still names nothing
    assert assert_error_shape(world.get("/api/v1/programmes/xyz/nothing"), 404)[
        "errors"] == {}


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
    ("min_position=4611686018427387905", "min_position"),
])
def test_bad_query_is_422_per_field(world, query, field):
    response = world.get(f"/api/v1/programmes/{{pid}}/timeline?{query}")
    body = assert_error_shape(response, 422)
    assert field in body["errors"], body


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/api/v1/programmes/{pid}/engagement", "as_of=2026-09-25", "as_of"),
    ("/api/v1/programmes/{pid}/development-areas", "as_of=10", "as_of"),
    ("/api/v1/programmes/{pid}/collaborations", "wek=3", "wek"),
    ("/api/v1/programmes/{pid}/timeline", "units=it", "units"),
    ("/api/v1/programmes", "page=2", "page"),
    ("/api/v1/programmes/{pid}/state", "at=10", "at"),
])
def test_a_query_parameter_an_endpoint_does_not_take_is_422_naming_it(world, path, query,
                                                                     field):
    """Why: an evaluator's as_of on an endpoint without it (or a misspelt week) was
    answered with today's unfiltered figures, as if they were what was asked."""
    body = assert_error_shape(world.get(f"{path}?{query}"), 422)
    assert field in body["errors"], body


def test_a_unit_or_week_the_programme_does_not_have_is_404_naming_the_filter(world):
    """Why: a unit given by its name or a week after the last were answered with an empty
    page, which an evaluator reads as "nothing happened"."""
    units = [u["key"] for u in world.app.get_programme(world.programme_id)["units"]]
    weeks = len(world.app.get_programme(world.programme_id)["weeks"])
    for path, query, field, says in (
            ("timeline", "unit=Socialförvaltningen", "unit", units[0]),
            ("timeline", f"week={weeks + 1}", "week", f"1 to {weeks}"),
            ("collaborations", f"week={weeks + 1}", "week", f"1 to {weeks}")):
        body = assert_error_shape(
            world.get(f"/api/v1/programmes/{{pid}}/{path}?{query}"), 404)
        assert says in " ".join(body["errors"][field]), body
    ok = world.get(f"/api/v1/programmes/{{pid}}/timeline?unit={units[0]}&week={weeks}")
    assert ok.status_code == 200 and ok.get_json()["total"] > 0


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
    (errors.ControlCharacterError("must be one line, without line breaks or control "
                                  "characters", field="title"), 422, "title"),
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
    assert body["detail"] == exc.message


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
    assert "secret internals" not in body["detail"]


def test_min_position_beyond_the_end_is_409_at_once(world):
    """The schema allows any position up to 2**62; one the log has not reached yet is a
    conflict with the log's state (409, not waited for), not a malformed request (422)."""
    head = world.app.max_position()
    for response in (world.get(f"/api/v1/programmes?min_position={head + 1}"),
                     world.get("/api/v1/programmes",
                               headers={"X-Framdrift-Min-Position": str(head + 1000)}),
                     world.get(f"/api/v1/programmes/{{pid}}/state?min_position={2**62}")):
        body = assert_error_shape(response, 409)
        assert "min_position" in body["errors"] and str(head) in body["detail"]
    assert world.get(f"/api/v1/programmes?min_position={head}").status_code == 200
    spec = world.get("/api/v1/openapi.json").get_json()
    assert "409" in spec["paths"]["/api/v1/programmes"]["get"]["responses"]


def test_unicode_digits_in_a_moment_are_422_never_500(world):
    """as_of / at made of digits int() refuses (or that are not ASCII) are not a moment:
    the API answers 422 at the field, the replay pages and downloads answer 422, never a
    500; framdrift export and replay say so."""
    cap = _capability(world)
    sign_in(world.client)
    for digits in UNICODE_DIGITS:
        _refused_everywhere(world, cap, digits)


def _refused_everywhere(world, cap: str, digits: str) -> None:
    for path in (f"/api/v1/programmes/{{pid}}/state?as_of={digits}",
                 f"/api/v1/records/{cap}/lineage?as_of={digits}",
                 f"/api/v1/records/{cap}/lineage?as_of={digits}&format=prov-json"):
        body = assert_error_shape(world.get(path), 422)
        assert "as_of" in body["errors"], (path, body)
    pid = world.programme_id
    for path in (f"/replay/{pid}?at={digits}", f"/replay/{pid}/export/timeline.csv?at={digits}",
                 f"/replay/{pid}/export/records.ndjson?at={digits}",
                 f"/replay/{pid}/export/lineage.prov-json?at={digits}",
                 f"/replay/{pid}/records/{cap}?at={digits}",
                 f"/replay/{pid}/records/{cap}/lineage.prov.json?at={digits}"):
        response = world.client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 422, (path, response.status_code)
    from api.cli import cli

    env = {"FRAMDRIFT_DATABASE_URL": world.app.config.url}
    for args in (["export", "--programme", str(pid), "--what", "timeline", "--until", digits],
                 ["replay", "--programme", str(pid), "--until", digits]):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 2 and "--until" in result.output, result.output
        assert "Traceback" not in result.output


def test_a_long_position_is_a_position(world):
    """Forty zeros is position 0 (the programme before anything happened); forty nines
    is a position beyond the end, the state now. Both are what the schema allows."""
    now = world.get("/api/v1/programmes/{pid}/state").get_json()
    before = world.get("/api/v1/programmes/{pid}/state?as_of=" + "0" * 40)
    assert before.status_code == 200 and before.get_json()["as_of"] == 0
    later = world.get("/api/v1/programmes/{pid}/state?as_of=" + "9" * 40)
    assert later.status_code == 200 and later.get_json()["as_of"] == now["as_of"]
    for moment in ("0001-01-01T00:00:00%2B01:00", "9999-12-31T23:59:59-01:00", "2024-02-29"):
        assert world.get(f"/api/v1/programmes/{{pid}}/state?as_of={moment}").status_code == 200
    for moment in ("2023-02-29", "%2012", "12%0A", "-1", "2026-09-07T10:00:00.1234567"):
        body = assert_error_shape(world.get(f"/api/v1/programmes/{{pid}}/state?as_of={moment}"),
                                  422)
        assert "as_of" in body["errors"]
    spec = world.get("/api/v1/openapi.json").get_json()
    params = spec["paths"]["/api/v1/programmes/{programme_id}/state"]["get"]["parameters"]
    as_of = next(p for p in params if p["name"] == "as_of")
    assert as_of["schema"]["pattern"].startswith("^(?:[0-9]{1,40}|")


def test_prov_json_is_served_as_the_documented_media_type(world):
    cap = _capability(world)
    response = world.get(f"/api/v1/records/{cap}/lineage?format=prov-json")
    assert response.status_code == 200 and response.mimetype == "application/vnd.prov+json"
    assert "wasDerivedFrom" in response.get_json()
    by_accept = world.get(f"/api/v1/records/{cap}/lineage",
                          headers={"Accept": "application/vnd.prov+json"})
    assert by_accept.mimetype == "application/vnd.prov+json"
    spec = world.get("/api/v1/openapi.json").get_json()
    content = spec["paths"]["/api/v1/records/{record_id}/lineage"]["get"]["responses"]["200"]
    assert response.mimetype in content["content"]
    sign_in(world.client)
    pid = world.programme_id
    for path in (f"/replay/{pid}/export/lineage.prov-json",
                 f"/replay/{pid}/records/{cap}/lineage.prov.json"):
        assert world.client.get(path).mimetype == "application/vnd.prov+json", path


def test_next_with_control_characters_is_ignored_never_500(world):
    """A CR/LF in next= would forge a response header (werkzeug refuses it with a 500):
    such a target is not followed, the default page is."""
    from urllib.parse import quote

    for target in ("/x\r\nSet-Cookie: a=b", "/x\nLocation: //evil", "\r\n", "/x\x00y",
                   "/x\ty", "/x\x7f"):
        response = world.client.get(f"/lang/en?next={quote(target)}")
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/", target
        assert "a=b" not in response.headers.get("Set-Cookie", ""), target


def _capability(world) -> str:
    catch_up(world.app)
    rows = world.get("/api/v1/programmes/{pid}/timeline?kind=capability&page_size=1")
    return rows.get_json()["items"][0]["record_id"]


# -- the development server's own errors ----------------------------------------------------


@pytest.fixture(scope="module")
def served():
    """The werkzeug server ``framdrift serve`` runs, with its request handler, over a tiny
    WSGI app (the errors below happen before any app sees the request)."""

    def wsgi(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, wsgi, threaded=True,
                         request_handler=ApiErrorRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(("path", "extra", "code"), [
    ("/api/v1/programmes?q=" + "x" * 70_000, b"", 414),
    ("/api/v1/programmes", b"X-Long: " + b"y" * 70_000 + b"\r\n", 431),
    ("/api/v1/programmes", b"".join(b"X-H%d: v\r\n" % i for i in range(120)), 431),
])
def test_server_limits_under_the_api_answer_json(served, path, extra, code):
    request = (f"GET {path} HTTP/1.1\r\nHost: localhost\r\n".encode() + extra + b"\r\n")
    status, headers, body = _raw(served, request)
    assert status == code
    payload = json.loads(body)
    assert_problem(headers["content-type"], payload, code)
    assert payload["instance"] == path.split("?")[0]
    assert payload["errors"]["_request"]


def test_server_limits_elsewhere_stay_as_they_were(served):
    status, headers, _body = _raw(served, b"GET /replay/?q=" + b"x" * 70_000 +
                                  b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert status == 414 and headers["content-type"].startswith("text/html")
    assert _raw(served, b"GET /api/v1/programmes HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n")[0] == 200


def test_serve_dev_uses_the_problem_error_handler(monkeypatch, sqlite_app, sqlite_url):
    """``framdrift serve --dev`` runs werkzeug's server with :class:`ApiErrorRequestHandler`;
    without ``--dev`` it runs waitress (api/server.py), never werkzeug's."""
    import werkzeug.serving

    from api import server
    from api.cli import cli

    seen = {}
    monkeypatch.setattr(werkzeug.serving, "run_simple",
                        lambda *a, **kw: seen.update(kw))
    result = CliRunner().invoke(cli, ["serve", "--dev", "--port", "0"],
                                env={"FRAMDRIFT_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    assert seen["request_handler"] is ApiErrorRequestHandler
    seen.clear()

    class Fake:
        effective_port = 8123

        def run(self):
            seen["ran"] = True

        def close(self):
            seen["closed"] = True

    monkeypatch.setattr(server, "make_server", lambda app, host, port, **kw: Fake())
    result = CliRunner().invoke(cli, ["serve", "--port", "0"],
                                env={"FRAMDRIFT_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    assert seen == {"ran": True, "closed": True}
    assert "http://localhost:8123/api/v1/docs" in result.output


def _database_down(app, monkeypatch):
    """Every way the app opens the store fails as it does when the server refuses or the
    pool has no connection to give (eventsourcing's OperationalError)."""
    from eventsourcing.persistence import OperationalError

    def refused(*args, **kwargs):
        raise OperationalError("connection refused (injected by the test)")

    datastore = app.recorder.datastore
    for name in ("get_connection", "transaction", "cursor"):
        if hasattr(datastore, name):
            monkeypatch.setattr(datastore, name, refused)


def test_database_outage_is_503_with_retry_after_not_500(world, monkeypatch):
    """A store that does not answer is the service being unavailable, not a bug: the API
    says 503 with Retry-After in its one error shape, and nothing is half-written."""
    before = world.app.max_position()
    _database_down(world.app, monkeypatch)
    for path in ("/api/v1/programmes", "/api/v1/programmes/{pid}/progress"):
        response = world.get(path)
        body = assert_error_shape(response, 503)
        assert response.headers["Retry-After"] == "5"
        assert body["errors"] == {"database": ["unavailable"]}
        assert "injected" not in body["detail"]
    monkeypatch.undo()
    assert world.app.max_position() == before


def test_database_outage_on_a_form_post_is_a_503_page_and_nothing_is_stored(app, monkeypatch):
    world = make_world(app, participants=2)
    client = world.flask.test_client()
    sign_in(client, role="participant")
    client.set_cookie("framdrift_lang", "en")
    page = client.get("/p/reflections/new")
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    before = app.max_position()
    _database_down(app, monkeypatch)
    again = client.get("/p/reflections/new")
    assert again.status_code == 503 and "kept on this device" not in again.get_data(as_text=True)
    response = client.post("/p/reflections/new", data={
        "csrf_token": token, "week": "1", "example": "Vi testade ett nytt mötesformat.",
        "request_id": str(uuid.uuid4())})
    text = response.get_data(as_text=True)
    assert response.status_code == 503, text[:500]
    assert response.headers["Retry-After"] == "5"
    assert "kept on this device" in text
    monkeypatch.undo()
    assert app.max_position() == before
