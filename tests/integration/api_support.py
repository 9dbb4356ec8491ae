"""Helpers for the API tests (tests/integration/test_api_*.py): a demo world, tokens,
a Flask test client on the same Framdrift application, and read-model catch-up."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from domain.accounts import issue_token
from domain.application import Framdrift
from domain.demo import load_demo

READ_ENDPOINTS = (
    "/api/v1/programmes",
    "/api/v1/programmes/{pid}",
    "/api/v1/programmes/{pid}/timeline",
    "/api/v1/programmes/{pid}/progress",
    "/api/v1/programmes/{pid}/lineage",
    "/api/v1/programmes/{pid}/development-areas",
    "/api/v1/programmes/{pid}/engagement",
    "/api/v1/programmes/{pid}/collaborations",
    "/api/v1/programmes/{pid}/maturity",
)


def catch_up(app: Framdrift) -> int:
    """Bring every read model up to the end of the log; returns the position reached."""
    runner = importlib.import_module("projections.runner")
    runner.catch_up(app)
    return app.max_position()


def flask_app(app: Framdrift, **config: Any) -> Flask:
    return create_app({"TESTING": True, "FRAMDRIFT": app, "SECRET_KEY": "test",
                       "DATABASE_URL": app.config.url, **config})


@dataclass
class World:
    app: Framdrift
    flask: Flask
    client: FlaskClient
    programme_id: UUID
    evaluator: str
    researcher: str
    participants: list[UUID] = field(default_factory=list)

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.evaluator}", **extra}

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {**self.headers(token), **kwargs.pop("headers", {})}
        return self.client.get(path.format(pid=self.programme_id), headers=headers, **kwargs)


def make_world(app: Framdrift, *, participants: int = 8, **config: Any) -> World:
    result = load_demo(app, seed=3, participants=participants)
    evaluator, _ = issue_token(app, role="evaluator", label="tests: evaluator")
    researcher, _ = issue_token(app, role="researcher", label="tests: researcher")
    catch_up(app)
    flask = flask_app(app, **config)
    pid = result.programme_ids[0]
    return World(app, flask, flask.test_client(), pid, evaluator, researcher,
                 result.participants[pid])


def assert_error_shape(response: Any, code: int) -> dict[str, Any]:
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}, body
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    for reasons in body["errors"].values():
        assert isinstance(reasons, list) and all(isinstance(r, str) for r in reasons)
    return body
