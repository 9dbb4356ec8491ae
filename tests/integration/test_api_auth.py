"""Who may read the API: tokens (401/403 matrix), revocation, the role decorator."""

from __future__ import annotations

import pytest
from api_support import READ_ENDPOINTS, assert_error_shape, make_world
from flask import jsonify

from api.auth import require_role
from domain.accounts import list_tokens, revoke_token, token_id_for


@pytest.fixture
def world(app):
    return make_world(app)


@pytest.mark.parametrize("path", READ_ENDPOINTS + ("/api/v1/tokens",))
def test_no_token_is_401_with_bearer_challenge(world, path):
    response = world.client.get(path.format(pid=world.programme_id))
    body = assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize("header", [
    "Bearer fd_not-a-real-token",
    "Bearer ",
    "Bearer not-even-our-prefix",
    "Basic dXNlcjpwYXNz",
    "bearer",
])
def test_invalid_credentials_are_401(world, header):
    response = world.client.get("/api/v1/programmes", headers={"Authorization": header})
    assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_evaluator_and_researcher_read_every_endpoint(world):
    for token in (world.evaluator, world.researcher):
        for path in READ_ENDPOINTS:
            response = world.get(path, token)
            assert response.status_code == 200, (path, response.get_json())
            assert response.mimetype == "application/json"


def test_token_list_is_for_researchers_only(world):
    refused = world.get("/api/v1/tokens", world.evaluator)
    assert_error_shape(refused, 403)
    assert refused.get_json()["detail"] == ("An evaluator may not do this "
                                            "(allowed: researcher).")
    response = world.get("/api/v1/tokens", world.researcher)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert {t["role"] for t in items} == {"evaluator", "researcher"}
    assert str(token_id_for(world.evaluator)) in {t["id"] for t in items}
    text = response.get_data(as_text=True)
    assert world.evaluator not in text and world.researcher not in text  # no secrets


def test_revoked_token_is_401_at_once(world):
    assert world.get("/api/v1/programmes").status_code == 200
    assert revoke_token(world.app, token_id_for(world.evaluator), "tests") is True
    assert_error_shape(world.get("/api/v1/programmes"), 401)
    assert world.get("/api/v1/programmes", world.researcher).status_code == 200
    revoked = {str(t.id): t for t in list_tokens(world.app)}[str(token_id_for(world.evaluator))]
    assert revoked.revoked and revoked.revoked_on is not None


def test_tokens_are_event_sourced_and_stored_hashed(world):
    events = [e for _, e in world.app.read_log(0, 10_000)
              if type(e).__qualname__.startswith("ApiToken.")]
    assert len(events) == 2
    assert all(e.originator_id in (token_id_for(world.evaluator), token_id_for(world.researcher))
               for e in events)
    stored = repr([e.__dict__ for e in events])
    assert world.evaluator not in stored and world.researcher not in stored


def test_role_decorator_serves_web_pages_with_sessions(world):
    """require_role guards a view for sessions too: none -> 401, a participant -> 403."""
    from api_support import sign_in

    flask = world.flask

    @flask.get("/_test/researchers-only")
    @require_role("researcher")
    def _page():
        return jsonify(ok=True)

    client = flask.test_client()
    assert_error_shape(client.get("/_test/researchers-only"), 401)
    sign_in(client, "participant")
    refused = client.get("/_test/researchers-only")
    assert_error_shape(refused, 403)
    assert refused.get_json()["detail"].startswith("A participant may not do this")
    sign_in(client, "researcher")
    assert client.get("/_test/researchers-only").get_json() == {"ok": True}
    with pytest.raises(ValueError):
        require_role("admin")
