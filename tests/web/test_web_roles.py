"""Roles everywhere: a matrix of role x route, each answer checked.

Roles: anonymous, participant (own programme), stranger (a participant of another
programme), researcher (session), evaluator (API token; evaluators only use the API).
Anonymous GETs of pages are sent to sign in (302); anonymous POSTs get 401; the wrong role
gets 403; another participant's records and unknown programmes are 404. A token is refused
(401) on every route outside /api/v1 (test_tokens.py tries every route with both roles).
"""

from __future__ import annotations

import pytest
from web_support import World

ANON, ME, STRANGER, RESEARCHER, EVALUATOR = (
    "anonymous", "participant", "stranger", "researcher", "evaluator")

# route, method, expected status for each role (anonymous, me, stranger, researcher, evaluator)
MATRIX: list[tuple[str, str, tuple[int, int, int, int, int]]] = [
    ("/", "GET", (200, 302, 302, 302, 401)),
    ("/login", "GET", (200, 200, 200, 200, 401)),
    ("/p/", "GET", (302, 200, 200, 403, 401)),
    ("/p/reflections/new", "GET", (302, 200, 200, 403, 401)),
    ("/p/decisions/new", "GET", (302, 200, 200, 403, 401)),
    ("/p/experiments/new", "GET", (302, 200, 200, 403, 401)),
    ("/p/capabilities/new", "GET", (302, 200, 200, 403, 401)),
    ("/p/materials", "GET", (302, 200, 200, 403, 401)),
    ("/p/records/{reflection}", "GET", (302, 200, 404, 403, 401)),
    ("/p/records/{colleague_reflection}", "GET", (302, 404, 404, 403, 401)),
    ("/p/records/{stranger_reflection}", "GET", (302, 404, 200, 403, 401)),
    ("/p/records/not-an-id", "GET", (302, 404, 404, 403, 401)),
    ("/p/experiments/{concluded}/next", "GET", (302, 200, 404, 403, 401)),
    ("/p/reflections/new", "POST", (401, 422, 422, 403, 401)),
    ("/p/records/{started}/observe", "POST", (401, 422, 404, 403, 401)),
    ("/p/records/{colleague_reflection}/refine", "POST", (401, 404, 404, 403, 401)),
    ("/p/materials", "POST", (401, 422, 422, 403, 401)),
    ("/r/", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/new", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{other_programme}", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/00000000-0000-0000-0000-000000000000", "GET", (302, 403, 403, 404, 401)),
    ("/r/programmes/{programme}/materials/new", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/meetings/new", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/units/new", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/areas/new", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/maturity/new", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/instrument", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/instrument", "POST", (401, 403, 403, 422, 401)),
    ("/r/programmes/{programme}/participants/new", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/participants/{me}", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/participants/{stranger}", "GET", (302, 403, 403, 404, 401)),
    ("/r/programmes/{programme}/meetings/c1/attendance", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/meetings/zz/attendance", "GET", (302, 403, 403, 404, 401)),
    ("/r/programmes/new", "POST", (401, 403, 403, 422, 401)),
    ("/r/programmes/{programme}/participants/new", "POST", (401, 403, 403, 422, 401)),
    ("/r/programmes/{programme}/participants/{me}/revoke", "POST", (401, 403, 403, 400, 401)),
    ("/r/programmes/{programme}/meetings/c1/attendance", "POST", (401, 403, 403, 422, 401)),
    # consent, erasure, and changing records (issue 6)
    ("/p/consent", "GET", (302, 200, 200, 403, 401)),
    ("/p/consent", "POST", (401, 422, 422, 403, 401)),
    ("/p/reflections/{reflection}/amend", "GET", (302, 200, 404, 403, 401)),
    ("/p/reflections/{colleague_reflection}/amend", "GET", (302, 404, 404, 403, 401)),
    ("/p/reflections/{decision}/amend", "GET", (302, 404, 404, 403, 401)),
    ("/p/reflections/{reflection}/amend", "POST", (401, 422, 404, 403, 401)),
    ("/p/decisions/{decision}/revise", "GET", (302, 200, 404, 403, 401)),
    ("/p/decisions/{reflection}/revise", "GET", (302, 404, 404, 403, 401)),
    ("/p/decisions/{decision}/revise", "POST", (401, 422, 404, 403, 401)),
    ("/p/records/{reflection}/withdraw", "POST", (401, 422, 404, 403, 401)),
    ("/p/records/{colleague_reflection}/withdraw", "POST", (401, 404, 404, 403, 401)),
    ("/p/records/{decision}/reverse", "POST", (401, 422, 404, 403, 401)),
    ("/p/records/{reflection}/reverse", "POST", (401, 404, 404, 403, 401)),
    ("/p/records/{capability}/apply", "POST", (401, 422, 404, 403, 401)),
    ("/r/programmes/{programme}/participants/{me}/consent", "POST",
     (401, 403, 403, 422, 401)),
    ("/r/programmes/{programme}/participants/{stranger}/consent", "POST",
     (401, 403, 403, 404, 401)),
    ("/r/programmes/{programme}/participants/{me}/erase", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/participants/{stranger}/erase", "GET",
     (302, 403, 403, 404, 401)),
    ("/r/programmes/{programme}/participants/{me}/erase", "POST", (401, 403, 403, 422, 401)),
    ("/r/programmes/{programme}/areas/a1/rename", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/areas/a9/rename", "GET", (302, 403, 403, 404, 401)),
    ("/r/programmes/{programme}/areas/a1/rename", "POST", (401, 403, 403, 422, 401)),
    ("/r/programmes/{programme}/areas/merge", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/areas/merge", "POST", (401, 403, 403, 422, 401)),
    ("/r/programmes/{programme}/close", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/close", "POST", (401, 403, 403, 422, 401)),
    ("/r/programmes/00000000-0000-0000-0000-000000000000/close", "GET",
     (302, 403, 403, 404, 401)),
    ("/api/v1/programmes", "GET", (401, 403, 403, 200, 200)),
    ("/nowhere", "GET", (404, 404, 404, 404, 401)),
    # enrolling several from a list (issue 13)
    ("/r/programmes/{programme}/participants/import", "GET", (302, 403, 403, 200, 401)),
    ("/r/programmes/{programme}/participants/import", "POST", (401, 403, 403, 422, 401)),
    ("/r/programmes/00000000-0000-0000-0000-000000000000/participants/import", "GET",
     (302, 403, 403, 404, 401)),
    # the cohort a form enrolled, with its invitations (an id no form used: 404)
    ("/r/programmes/{programme}/participants/import/0123456789abcdef", "GET",
     (302, 403, 403, 404, 401)),
]
ROLES = (ANON, ME, STRANGER, RESEARCHER, EVALUATOR)


def test_role_route_matrix(app) -> None:
    from web_support import make_world

    # CSRF is tested on its own (test_web_fuzz); here every POST is judged on roles alone.
    world: World = make_world(app, WTF_CSRF_ENABLED=False)
    clients = {role: world.client(role) for role in ROLES}
    values = {**world.ids, "programme": world.programme, "other_programme":
              world.other_programme, "me": world.me, "stranger": world.stranger}
    failures = []
    for route, method, expected in MATRIX:
        path = route.format(**values)
        for role, status in zip(ROLES, expected, strict=True):
            client = clients[role]
            response = client.get(path) if method == "GET" else client.post(path, data={})
            if response.status_code != status:
                failures.append(f"{role:<11} {method} {route}: {response.status_code} "
                                f"(expected {status})")
            if status == 302 and role == ANON and route.startswith("/r/"):
                assert "/login" in response.location
    assert not failures, "\n".join(failures)


def test_participant_writes_only_as_themselves(world: World) -> None:
    """The actor of every event a participant causes is that participant."""
    from web_support import form_fields

    client = world.client("participant")
    fields = form_fields(client, "/p/reflections/new")
    before = world.app.max_position()
    response = client.post("/p/reflections/new", data={
        **fields, "week": "1", "example": "Skrivet av mig",
        "participant_id": world.colleague})  # an extra field naming someone else is ignored
    assert response.status_code == 302
    events = [e for _pos, e in world.app.read_log(before)]
    assert events and all(e.actor == f"participant:{world.me}" for e in events)
    assert all(getattr(e, "participant_id", None) in (None,) or
               str(e.participant_id) == world.me for e in events)


@pytest.mark.parametrize("who", ["participant", "researcher"])
def test_signed_out_after_logout(world: World, who: str) -> None:
    from web_support import csrf

    client = world.client(who)
    home = "/p/" if who == "participant" else "/r/"
    assert client.get(home).status_code == 200
    token = csrf(client, home)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get(home).status_code == 302
