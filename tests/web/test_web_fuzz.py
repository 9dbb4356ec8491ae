"""Every form gets malformed, oversized and hostile values: never a 500, never a partial
record (the event count is unchanged by every rejected post), and a valid post still works.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from web_support import FIRST_DAY, World, form_fields, make_world

HUGE = "å" * 200_000
HOSTILE_TEXT = "<script>alert(1)</script>\u202e' OR 1=1; --"


def forms(world: World) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(who, page with the form, where it posts, a valid payload)."""
    ids, p = world.ids, world.programme
    r = f"/r/programmes/{p}"
    return [
        ("participant", "/p/reflections/new", "/p/reflections/new",
         {"week": "1", "example": "Ett exempel", "development_areas": ["a1"]}),
        ("participant", "/p/decisions/new", "/p/decisions/new",
         {"week": "1", "statement": "Ett beslut", "based_on": [ids["reflection"]]}),
        ("participant", "/p/experiments/new", "/p/experiments/new",
         {"week": "2", "aim": "a", "change": "c", "prediction": "p", "measure": "m",
          "units": ["social", "it"]}),
        ("participant", "/p/capabilities/new", "/p/capabilities/new",
         {"week": "3", "name": "Förmåga", "description": "d",
          "experiments": [ids["concluded"]]}),
        ("participant", f"/p/experiments/{ids['concluded']}/next",
         f"/p/experiments/{ids['concluded']}/next",
         {"week": "3", "aim": "a", "change": "c", "prediction": "p", "measure": "m"}),
        ("participant", f"/p/records/{ids['planned']}", f"/p/records/{ids['planned']}/start",
         {"week": "2"}),
        ("participant", f"/p/records/{ids['started']}", f"/p/records/{ids['started']}/observe",
         {"text": "Jag såg"}),
        ("participant", f"/p/records/{ids['started']}",
         f"/p/records/{ids['started']}/evaluate", {"result": "r", "learning": "l"}),
        ("participant", f"/p/records/{ids['evaluated']}",
         f"/p/records/{ids['evaluated']}/conclude", {"outcome": "adapt"}),
        ("participant", f"/p/records/{ids['capability']}",
         f"/p/records/{ids['capability']}/refine", {"description": "Bättre"}),
        ("participant", "/p/materials", "/p/materials", {"material_id": "m1"}),
        ("anonymous", "/login", "/login", {"username": "forskare", "password": "fel-lösenord"}),
        ("researcher", "/r/programmes/new", "/r/programmes/new",
         {"title": "Ny", "organisation": "Org", "first_day": "2026-09-07",
          "themes": "Digitalisering\nStyrning", "units": "Skolförvaltningen"}),
        ("researcher", f"{r}/materials/new", f"{r}/materials/new",
         {"week": "1", "kind": "podcast", "title": "Podd", "url": "https://example.org/x"}),
        ("researcher", f"{r}/meetings/new", f"{r}/meetings/new",
         {"week": "2", "kind": "session",
          "held_on": (FIRST_DAY + timedelta(days=8)).isoformat()}),
        ("researcher", f"{r}/units/new", f"{r}/units/new",
         {"key": "hr", "name": "HR", "kind": "administration"}),
        ("researcher", f"{r}/areas/new", f"{r}/areas/new", {"name": "HR:s roll"}),
        ("researcher", f"{r}/maturity/new", f"{r}/maturity/new",
         {"phase": "before", "instrument": "DiMiOS", "assessed_on": "2026-09-01",
          "score_0": "40", "score_1": "55,5"}),
        ("researcher", f"{r}/participants/new", f"{r}/participants/new",
         {"name": "Ny Person", "email": "ny@example.org", "role": "expert", "unit": "it",
          "days": "10"}),
        ("researcher", f"{r}/participants/{world.colleague}",
         f"{r}/participants/{world.colleague}/link", {"days": "5"}),
        ("researcher", f"{r}/meetings/c1/attendance", f"{r}/meetings/c1/attendance",
         {"attended": [world.me]}),
        ("researcher", f"{r}/participants/{world.colleague}",
         f"{r}/participants/{world.colleague}/revoke", {}),
    ]


def variants(hidden: dict[str, str], valid: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Rejected posts: each must leave the event log as it was."""
    fields = [k for k in valid if k != "password"] or ["request_id"]

    def with_(**changes: Any) -> dict[str, Any]:
        return {"data": {**hidden, "request_id": uuid.uuid4().hex, **valid, **changes}}

    def raw(bad: bytes) -> dict[str, Any]:
        body = urlencode({**hidden, "request_id": uuid.uuid4().hex}).encode() + b"&"
        body += b"&".join(f"{k}=".encode() + bad for k in fields)
        return {"data": body, "content_type": "application/x-www-form-urlencoded"}

    out: list[tuple[str, dict[str, Any]]] = [
        ("missing fields", {"data": {**hidden, "request_id": uuid.uuid4().hex}}),
        ("huge strings", with_(**{k: HUGE for k in fields})),
        ("NUL bytes", with_(**{k: f"a\x00b{HOSTILE_TEXT}" for k in fields})),
        ("invalid UTF-8", raw(b"%ff%fe%ed%a0%80")),
        ("lone surrogate bytes", raw(b"%ed%b2%80x\x00")),
        ("wrong types", with_(**{**{k: ["", "2", repr({"x": 1})] for k in fields},
                                 "week": "1e9", "expected_version": "-1", "days": "NaN",
                                 "score_0": "inf", "outcome": "maybe"})),
        ("control characters", with_(**{k: "\x1b[2J\x07" for k in fields})),
        ("bad CSRF", with_(csrf_token="forged")),
        ("no CSRF", {"data": {k: v for k, v in with_()["data"].items() if k != "csrf_token"}}),
        ("damaged request id", with_(request_id="../../" + "x" * 300)),
        ("stale version", with_(expected_version="1")) if "expected_version" in hidden
        else ("unknown ids", with_(based_on=[str(uuid.uuid4())], experiments=["m99"],
                                   development_areas=["zz"], material_id="m999",
                                   unit="nowhere", attended=[str(uuid.uuid4())],
                                   week="17")),
        ("multipart file", {"data": {**hidden, "request_id": uuid.uuid4().hex,
                                     fields[0]: (__import__("io").BytesIO(b"\x00" * 10),
                                                 "x.bin")},
                            "content_type": "multipart/form-data"}),
        ("over the size limit", with_(**{fields[0]: "x" * (2 * 1024 * 1024)})),
    ]
    if set(fields) <= {"request_id"}:  # forms without text (revoke): only CSRF matters
        out = [v for v in out if "CSRF" in v[0] or v[0] in ("damaged request id",
                                                            "over the size limit")]
    if fields == ["username"]:
        out = [v for v in out if v[0] != "unknown ids"]
    return out


# Malformed text that the form parser repairs (invalid UTF-8 becomes U+FFFD), links to
# unknown things the domain rejects, a version that may still be current: each may be
# accepted or rejected, but a rejected post records nothing and nothing answers 500.
EITHER = {"invalid UTF-8", "lone surrogate bytes", "unknown ids", "stale version",
          "multipart file", "missing fields"}


def test_every_form_survives_hostile_input(app) -> None:
    world = make_world(app, SIGNIN_RATE_LIMIT="10000 per minute")
    clients = {who: world.client(who) for who in ("participant", "researcher", "anonymous")}
    problems = []
    for who, page, action, valid in forms(world):
        client = clients[who]
        # a valid post is accepted and recorded ...
        hidden = form_fields(client, page)
        assert "csrf_token" in hidden, page
        before = world.app.max_position()
        response = client.post(action, data={**hidden, "request_id": uuid.uuid4().hex,
                                             **valid})
        if action == "/login":
            if response.status_code != 422:
                problems.append(f"{action} [valid, wrong password]: {response.status_code}")
        elif response.status_code not in (200, 302) or world.app.max_position() == before:
            problems.append(f"{action} [valid]: {response.status_code} "
                            + response.get_data(as_text=True)[-600:])
        # ... and hostile ones never cause a 500 or a partial record
        hidden = form_fields(client, page)
        for name, kwargs in variants(hidden, valid):
            before = world.app.max_position()
            response = client.post(action, **kwargs)
            recorded = world.app.max_position() - before
            if response.status_code >= 500:
                problems.append(f"{action} [{name}]: {response.status_code}")
            elif response.status_code >= 400 and recorded:
                problems.append(f"{action} [{name}]: rejected ({response.status_code}) but "
                                f"{recorded} event(s) recorded")
            elif response.status_code < 400 and name not in EITHER:
                problems.append(f"{action} [{name}]: accepted ({response.status_code})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/p/reflections/new", "/login"])
def test_bad_csrf_is_a_clear_400_page(sqlite_world: World, path: str) -> None:
    client = sqlite_world.client("participant" if path.startswith("/p/") else "anonymous")
    response = client.post(path, data={"csrf_token": "nope", "example": "x", "week": "1"})
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "Formuläret kunde inte skickas" in response.get_data(as_text=True)
