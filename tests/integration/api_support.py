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
from domain.accounts import (
    create_researcher,
    issue_link,
    issue_token,
    researcher_exists,
    researcher_id_for,
)
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
    "/api/v1/programmes/{pid}/maturity-instrument",
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


def assert_problem(mimetype: str, body: dict[str, Any], code: int) -> None:
    """An RFC 9457 problem document (api/errors.py): the documented members, no others."""
    assert mimetype == "application/problem+json", mimetype
    assert set(body) - {"instance"} == {"type", "title", "status", "detail", "errors"}, body
    assert body["status"] == code
    assert body["type"] == "about:blank" or body["type"].startswith("/api/v1/problems/")
    for member in ("title", "detail", "instance"):
        assert isinstance(body.get(member, "x"), str) and body.get(member, "x"), body
    assert isinstance(body["errors"], dict)
    for reasons in body["errors"].values():
        assert isinstance(reasons, list) and all(isinstance(r, str) for r in reasons)


def assert_error_shape(response: Any, code: int) -> dict[str, Any]:
    assert response.status_code == code, response.get_data(as_text=True)
    assert_problem(response.mimetype, response.get_json(force=True), code)
    body = response.get_json(force=True)
    for reasons in body["errors"].values():
        assert isinstance(reasons, list) and all(isinstance(r, str) for r in reasons)
    return body


TEST_RESEARCHER = "tests-forskare"


def sign_in(client: FlaskClient, role: str = "researcher") -> None:
    """Sign ``client`` in with a personal link, as a person would: a researcher (an
    account made on first use) or the first participant who is not erased. Sessions are
    checked against the store on every request (ADR 0006), so none is made up."""
    from eventsourcing.utils import get_topic

    from domain.model import Participant

    app: Framdrift = client.application.config["FRAMDRIFT"]
    if role == "researcher":
        if not researcher_exists(app, TEST_RESEARCHER):
            create_researcher(app, username=TEST_RESEARCHER, name="Test Forskare",
                              email=None, password="tests-password-123")
        subject = researcher_id_for(TEST_RESEARCHER)
    else:
        enrolled = app.recorder.select_notifications(
            start=1, limit=1000, topics=[get_topic(Participant.Enrolled)])
        subject = next(n.originator_id for n in enrolled
                       if not app.get_participant(n.originator_id)["erased"])
    secret, _id = issue_link(app, role=role, subject=subject)
    response = client.get(f"/in/{secret}")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def evaluator_pages(app: Framdrift, programme_id: Any) -> dict[str, str]:
    """The evaluators' web pages of a programme (ADR 0015) as an evaluator signed in with
    a personal link sees them: the list, the programme's page and each course week's."""
    from domain.accounts import issue_evaluator_link

    secret, _link, _evaluator = issue_evaluator_link(app)
    client = flask_app(app).test_client()
    assert client.get(f"/in/{secret}").status_code == 302
    pid = str(programme_id)
    paths = ["/e/", f"/e/programmes/{pid}"] + [
        f"/e/programmes/{pid}?week={w['number']}" for w in app.get_programme(pid)["weeks"]]
    out = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        out[path] = response.get_data(as_text=True)
    return out
