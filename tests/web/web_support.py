"""Helpers for the web tests: a small programme world, signed-in clients, form tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from domain.accounts import create_researcher, issue_link, issue_token
from domain.application import Framdrift
from domain.context import acting_as

PASSWORD = "rätt-lösenord-123"
FIRST_DAY = date.today() - timedelta(days=15)  # week 3 is the current week


@dataclass
class World:
    app: Framdrift
    flask: Flask
    programme: str
    other_programme: str
    me: str
    colleague: str
    stranger: str
    link: str
    colleague_link: str
    stranger_link: str
    evaluator_token: str
    researcher_token: str
    ids: dict[str, str] = field(default_factory=dict)

    def client(self, who: str) -> FlaskClient:
        """A client signed in as: anonymous, participant, colleague, stranger, researcher,
        evaluator (bearer token), researcher_token (bearer token)."""
        client = self.flask.test_client()
        if who in ("participant", "colleague", "stranger"):
            link = {"participant": self.link, "colleague": self.colleague_link,
                    "stranger": self.stranger_link}[who]
            assert client.get(f"/in/{link}").status_code == 302
        elif who == "researcher":
            token = csrf(client, "/login")
            response = client.post("/login", data={"csrf_token": token, "username": "forskare",
                                                   "password": PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)
        elif who in ("evaluator", "researcher_token"):
            token = self.evaluator_token if who == "evaluator" else self.researcher_token
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client


def csrf(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def form_fields(client: FlaskClient, path: str) -> dict[str, str]:
    """The hidden fields (csrf_token, request_id, expected_version) of the first form."""
    html = client.get(path).get_data(as_text=True)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def sign_in_researcher(tab: Any, url: str) -> None:
    """In a browser tab (Playwright): the test researcher signs in through the login form,
    in Swedish, and lands on the programmes."""
    tab.goto(f"{url}/login")
    tab.get_by_label("Användarnamn").fill("forskare")
    tab.get_by_label("Lösenord").fill(PASSWORD)
    tab.get_by_role("button", name="Logga in").click()
    tab.wait_for_url(re.compile(r"/r/$"))


def flask_app(app: Framdrift, **config: Any) -> Flask:
    return create_app({"TESTING": True, "FRAMDRIFT": app, "SECRET_KEY": "test-secret",
                       "DATABASE_URL": app.config.url, **config})


def make_world(app: Framdrift, **config: Any) -> World:
    with acting_as("researcher:test"):
        pid = str(app.plan_programme(
            organisation="Testby kommun", title="Digitalisering 2026", first_day=FIRST_DAY,
            units=[{"key": "social", "name": "Socialförvaltningen"},
                   {"key": "it", "name": "IT-avdelningen"},
                   {"key": "bostad", "name": "Bostadsbolaget", "kind": "company"}]))
        other = str(app.plan_programme(organisation="Annanby", title="Annan insats",
                                       first_day=FIRST_DAY,
                                       units=[{"key": "x", "name": "X-förvaltningen"}]))
        app.publish_material(pid, week=1, kind="film", title="Digitalisering i kommunen")
        app.publish_material(pid, week=2, kind="report", title="Styrning och regler")
        app.hold_check_in(pid, week=1, held_on=FIRST_DAY + timedelta(days=2))
        app.identify_development_area(pid, name="Politisk förankring")
        me = str(app.enrol_participant(pid, name="Eva Exempel", email="eva@example.org",
                                       role="manager", unit="social", consent=True))
        colleague = str(app.enrol_participant(pid, name="Kim Kollega", email=None,
                                              role="expert", unit="it", consent=True))
        stranger = str(app.enrol_participant(other, name="Sam Främling", email=None,
                                             role="expert", unit="x", consent=True))
        link, _ = issue_link(app, role="participant", subject=me)
        colleague_link, _ = issue_link(app, role="participant", subject=colleague)
        stranger_link, _ = issue_link(app, role="participant", subject=stranger)
    create_researcher(app, username="forskare", name="Fia Forskare", email=None,
                      password=PASSWORD)
    evaluator, _ = issue_token(app, role="evaluator", label="test")
    researcher_token, _ = issue_token(app, role="researcher", label="test")
    ids: dict[str, str] = {}
    ids["reflection"] = str(app.log_reflection(me, week=1, example="Min egen text"))
    ids["decision"] = str(app.make_decision(me, week=2, statement="Vi gör om",
                                            based_on=[ids["reflection"]]))
    ids["planned"] = str(app.plan_experiment(me, week=2, aim="a", change="c",
                                             prediction="p", measure="m"))
    ids["started"] = str(app.plan_experiment(me, week=2, aim="a2", change="c",
                                             prediction="p", measure="m"))
    app.start_experiment(ids["started"], week=2)
    ids["evaluated"] = str(app.plan_experiment(me, week=2, aim="a3", change="c",
                                               prediction="p", measure="m"))
    app.start_experiment(ids["evaluated"], week=2)
    app.evaluate_experiment(ids["evaluated"], result="r", learning="l")
    ids["concluded"] = str(app.plan_experiment(me, week=2, aim="a4", change="c",
                                               prediction="p", measure="m"))
    app.start_experiment(ids["concluded"], week=2)
    app.evaluate_experiment(ids["concluded"], result="r", learning="l")
    app.conclude_experiment(ids["concluded"], outcome="adopt")
    ids["capability"] = str(app.establish_capability(
        me, week=3, name="Gemensam plattform", description="d",
        experiments=[ids["concluded"]]))
    ids["colleague_reflection"] = str(app.log_reflection(colleague, week=1,
                                                         example="Kollegans text"))
    ids["stranger_reflection"] = str(app.log_reflection(stranger, week=1,
                                                        example="Främlingens text"))
    return World(app=app, flask=flask_app(app, **config), programme=pid, other_programme=other,
                 me=me, colleague=colleague, stranger=stranger, link=link,
                 colleague_link=colleague_link, stranger_link=stranger_link,
                 evaluator_token=evaluator, researcher_token=researcher_token, ids=ids)


def event_count(app: Framdrift) -> int:
    return app.max_position()
