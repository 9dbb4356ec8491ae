"""API tokens open the API only, read-only; web sessions can be ended (ADR 0006).

Each test runs on SQLite and PostgreSQL: session epochs are events in the store.
"""

from __future__ import annotations

import re
import uuid

import pytest
from web_support import PASSWORD, World, csrf, flask_app, form_fields, make_world

from domain.accounts import set_password

# Values for every variable of a route, so each rule of the url_map can be tried.
_FORM = {"name": "Token Tester", "title": "Token title", "organisation": "Token org",
         "first_day": "2027-01-11", "weeks": "Digitalisering", "units": "Token unit",
         "role": "manager", "unit": "social", "days": "30", "week": "1",
         "example": "written with a token", "statement": "token decision", "consent": "yes",
         "confirm": "yes", "username": "forskare", "password": PASSWORD, "kind": "film",
         "material_id": "m1", "area_id": "a1", "note": "token note"}


def _path(world: World, rule) -> str:  # noqa: ANN001 - werkzeug's Rule
    values = {"programme_id": world.programme, "participant_id": world.me,
              "record_id": world.ids["reflection"], "area_id": "a1", "meeting_id": "c1",
              "step": "observe", "secret": world.link, "code": "en",
              "filename": "framdrift.js", "what": "records", "fmt": "csv",
              "message_id": "00000000-0000-4000-8000-000000000000",
              "evaluator_id": "00000000-0000-4000-8000-000000000000",
              "request_id": "0123456789abcdef"}
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?" + name + ">", str(values[name]), path)
    return path


def _signed_in(world: World, who: str):  # noqa: ANN202
    return world.client(who) if who != "nobody" else world.flask.test_client()


def test_tokens_open_no_web_route(app) -> None:
    """Every route outside /api/v1, every method, a token of each role (alone and sent
    with a signed-in session's cookie): refused, nothing shown, nothing recorded."""
    world = make_world(app, WTF_CSRF_ENABLED=False)  # a form would go through if let in
    rules = [r for r in world.flask.url_map.iter_rules() if not r.rule.startswith("/api/v1")]
    assert len(rules) > 40
    before = app.max_position()
    failures = []
    for token in (world.evaluator_token, world.researcher_token):
        for who in ("nobody", "researcher", "participant"):
            client = _signed_in(world, who)
            headers = {"Authorization": f"Bearer {token}"}
            for rule in rules:
                path = _path(world, rule)
                for method in sorted(rule.methods):
                    data = {**_FORM, "request_id": uuid.uuid4().hex} \
                        if method == "POST" else None
                    response = client.open(path, method=method, headers=headers, data=data)
                    body = response.get_data(as_text=True)
                    if response.status_code != 401 or "csrf_token" in body \
                            or "Eva Exempel" in body or "Min egen text" in body:
                        failures.append(f"{who} {method} {path}: {response.status_code}")
            if who != "nobody":  # the session itself still works without the token
                home = "/r/" if who == "researcher" else "/p/"
                assert client.get(home).status_code == 200
    # with CSRF protection on (as deployed) the token is refused first, too
    client = flask_app(app).test_client()
    for rule in rules:
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            response = client.open(_path(world, rule), method=method, data=_FORM,
                                   headers={"Authorization": f"Bearer {world.researcher_token}"})
            if response.status_code != 401:
                failures.append(f"CSRF on: {method} {rule.rule}: {response.status_code}")
    assert not failures, "\n".join(failures[:40])
    assert app.max_position() == before


def test_tokens_only_read_the_api(app) -> None:
    """Under /api/v1 a token reads and never writes (a route that takes writes refuses a
    token: 403; the read-only routes answer 405), and a session cookie sent with it adds
    nothing: the token alone decides."""
    world = make_world(app, WTF_CSRF_ENABLED=False)  # the token check alone refuses
    flask = world.flask

    @flask.post("/api/v1/_test/write")
    def _write():  # a route that takes writes, guarded by nothing of its own
        world.app.log_reflection(world.me, week=1, example="written by a token")
        return {"ok": True}

    researcher = world.client("researcher")
    rules = [r for r in flask.url_map.iter_rules() if r.rule.startswith("/api/v1")
             and not r.rule.startswith("/api/v1/_test")]
    for token, tokens_list in ((world.evaluator_token, 403), (world.researcher_token, 200)):
        headers = {"Authorization": f"Bearer {token}"}
        assert researcher.get("/api/v1/programmes", headers=headers).status_code == 200
        assert researcher.get("/api/v1/tokens", headers=headers).status_code == tokens_list
        before = world.app.max_position()
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for rule in rules:
                path = rule.rule.replace("<uuid:programme_id>", world.programme).replace(
                    "<uuid:record_id>", world.ids["reflection"])
                response = researcher.open(path, method=method, headers=headers, json={})
                assert response.status_code == 405, (method, path, response.status_code)
        response = researcher.post("/api/v1/_test/write", headers=headers, json={})
        assert response.status_code == 403
        assert response.get_json()["detail"] == "API tokens are read-only."
        assert world.app.max_position() == before
    # a bad token is not helped by a valid researcher session
    assert researcher.get("/api/v1/programmes", headers={
        "Authorization": "Bearer fd_not-a-token"}).status_code == 401


@pytest.mark.parametrize("who", ["researcher", "participant"])
def test_a_copied_cookie_stops_working_at_sign_out(world: World, who: str) -> None:
    """A session cookie saved before sign-out and sent again afterwards opens nothing:
    no page, no form, no API read; and signing in again makes a new session."""
    client = world.client(who)
    home = "/r/" if who == "researcher" else "/p/"
    form = "/r/programmes/new" if who == "researcher" else "/p/reflections/new"
    fields = form_fields(client, form)
    copied = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": csrf(client, home)}).status_code == 302
    before = world.app.max_position()

    thief = world.flask.test_client()
    thief.set_cookie("session", copied)
    response = thief.get(home)
    assert response.status_code == 302 and "/p/" not in response.location
    thief.set_cookie("session", copied)
    data = {**fields, "week": "1", "example": "replayed", "title": "Replayed",
            "organisation": "O", "first_day": "2027-01-11", "weeks": "Digitalisering",
            "units": "X"}
    assert thief.post(form, data=data).status_code == 401
    thief.set_cookie("session", copied)
    assert thief.get("/api/v1/programmes").status_code == 401
    thief.set_cookie("session", copied)
    if who == "researcher":
        assert thief.get(f"/replay/{world.programme}").status_code in (302, 401)
    assert world.app.max_position() == before  # the replayed form recorded nothing

    again = world.client(who)  # the same person signs in again: a new session works
    assert again.get(home).status_code == 200
    thief.set_cookie("session", copied)
    assert thief.get(home).status_code == 302


def test_researcher_sign_out_ends_every_session_of_the_account(world: World) -> None:
    """Signing out on one device ends the account's sessions on the others too."""
    laptop, phone = world.client("researcher"), world.client("researcher")
    assert phone.get("/r/").status_code == 200
    assert laptop.post("/logout", data={"csrf_token": csrf(laptop, "/r/")}).status_code == 302
    response = phone.get("/r/")
    assert response.status_code == 302 and "/login" in response.location
    events = [e for _p, e in world.app.read_log(world.app.max_position() - 1)]
    assert [type(e).__qualname__ for e in events] == ["Sessions.Ended"]
    assert events[0].epoch == 1 and events[0].actor.startswith("researcher:")


def test_a_new_password_ends_every_earlier_session(world: World) -> None:
    """After a password change, sessions started before it (a copied cookie too) open
    nothing; the new password signs in, the old one does not."""
    first = world.client("researcher")
    copied = first.get_cookie("session").value
    set_password(world.app, "forskare", "ett-helt-nytt-lösenord")
    assert first.get("/r/").status_code == 302
    thief = world.flask.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/r/").status_code == 302
    assert thief.get("/api/v1/programmes").status_code == 401
    fresh = world.flask.test_client()
    token = csrf(fresh, "/login")
    assert fresh.post("/login", data={"csrf_token": token, "username": "forskare",
                                      "password": PASSWORD}).status_code == 422
    assert fresh.post("/login", data={"csrf_token": token, "username": "forskare",
                                      "password": "ett-helt-nytt-lösenord"}).status_code == 302
    assert fresh.get("/r/").status_code == 200


def test_participant_sign_out_ends_the_link_session_not_the_link(world: World) -> None:
    """A participant's sign-out ends that session on the server; the personal link still
    signs them in, and a colleague's session is untouched."""
    me, colleague = world.client("participant"), world.client("colleague")
    copied = me.get_cookie("session").value
    assert me.post("/logout", data={"csrf_token": csrf(me, "/p/")}).status_code == 302
    assert world.flask.test_client().get(f"/in/{world.link}").status_code == 302
    thief = world.flask.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/p/").status_code == 302
    assert colleague.get("/p/").status_code == 200


def test_a_session_must_carry_its_epochs(world: World) -> None:
    """A cookie of a shape sign-in never makes (made before sessions carried epochs, a
    participant without a link, an evaluator) opens nothing, even signed with the key."""
    serializer = world.flask.session_interface.get_signing_serializer(world.flask)
    for principal in ({"role": "researcher", "subject": "r1"},
                      {"role": "researcher", "subject": str(uuid.uuid4()), "epoch": "0"},
                      {"role": "participant", "subject": world.me},
                      {"role": "evaluator", "subject": "r1"}):
        client = world.flask.test_client()
        client.set_cookie("session", serializer.dumps({"principal": principal}))
        assert client.get("/r/").status_code == 302, principal
        client.set_cookie("session", serializer.dumps({"principal": principal}))
        assert client.get("/p/").status_code == 302, principal


def test_session_epochs_count_the_endings(app) -> None:
    """Endings are numbered without gaps, found again in O(log n) look-ups, and a session
    is checked by one look-up of the next ending; two sign-outs of one session at once
    record one ending."""
    from concurrent.futures import ThreadPoolExecutor

    from domain.accounts import end_sessions, session_epoch, session_in_force

    scope = uuid.uuid4()
    for n in range(12):
        assert session_epoch(app, scope) == n
        assert session_in_force(app, scope, n) and not session_in_force(app, scope, n - 1)
        assert end_sessions(app, scope, reason="test") is True
    for bad in (None, "12", True, -1):
        assert not session_in_force(app, scope, bad)
    before = app.max_position()
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda _i: end_sessions(app, scope, seen=12), range(4)))
    assert done.count(True) == 1 and app.max_position() == before + 1
    assert session_epoch(app, scope) == 13
